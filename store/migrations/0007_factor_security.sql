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
