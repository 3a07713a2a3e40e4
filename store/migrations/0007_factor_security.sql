-- Changing a factor needs re-authentication, and a code belongs to the sign-in that asked for it.
--
-- otp_challenges is rebuilt (SQLite can't change a CHECK constraint in place) to add:
-- attempt_id: the sign-in attempt (the session) that asked for the code; a code is accepted only in
--   that attempt. Codes issued before this version have none and are accepted by no attempt.
-- purpose 'step_up': a code from an existing method that re-authenticates before a method change.

CREATE TABLE otp_challenges_new (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    method_id   INTEGER NOT NULL REFERENCES mfa_methods(id) ON DELETE CASCADE,
    counter     INTEGER NOT NULL,
    issued_at   REAL NOT NULL,
    expires_at  REAL NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    consumed_at REAL,
    destination TEXT NOT NULL DEFAULT '',
    purpose     TEXT NOT NULL DEFAULT 'sign_in'
        CHECK (purpose IN ('setup', 'sign_in', 'step_up')),
    attempt_id  TEXT
);

INSERT INTO otp_challenges_new
    (user_id, method_id, counter, issued_at, expires_at, attempts, consumed_at, destination,
     purpose, attempt_id)
SELECT user_id, method_id, counter, issued_at, expires_at, attempts, consumed_at, destination,
       purpose, NULL
FROM otp_challenges;

DROP TABLE otp_challenges;

ALTER TABLE otp_challenges_new RENAME TO otp_challenges;

-- Step-up grants: a sign-in attempt that re-authenticated (password, and a code from an existing
-- method where there is one) may change the user's methods until expires_at.
CREATE TABLE step_up_grants (
    attempt_id TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    granted_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    how        TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX step_up_grants_by_user ON step_up_grants(user_id);

-- Users an earlier MFA process failed (an address that can't receive mail) stay required to use MFA
-- while it is on for their subscription (or while its process runs): at the next sign-in they set
-- up another method instead of signing in with a password alone.
UPDATE users SET mfa_required = 1
WHERE mfa_required = 0
  AND id IN (
      SELECT mfa_job_failures.user_id
      FROM mfa_job_failures JOIN mfa_jobs ON mfa_jobs.id = mfa_job_failures.job_id
      JOIN subscriptions ON subscriptions.id = mfa_jobs.subscription_id
      WHERE subscriptions.mfa_enabled = 1 OR mfa_jobs.status = 'running'
  );
