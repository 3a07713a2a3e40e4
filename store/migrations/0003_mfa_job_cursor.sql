-- The MFA process keeps a cursor over user ids in its job row and a row for each user that failed,
-- instead of one row per user per run: what a job stores grows with its failures, not its users.
-- cursor_user_id: every user of the job with an id up to it has been decided (0: none yet).
-- last_user_id: an 'enable' job covers the subscription's users with ids up to this one.
-- retry_of: a 'retry' job covers the users that failed in this job.

ALTER TABLE mfa_jobs ADD COLUMN cursor_user_id INTEGER NOT NULL DEFAULT 0;

ALTER TABLE mfa_jobs ADD COLUMN last_user_id INTEGER NOT NULL DEFAULT 0;

ALTER TABLE mfa_jobs ADD COLUMN retry_of INTEGER REFERENCES mfa_jobs(id) ON DELETE SET NULL;

CREATE TABLE mfa_job_failures (
    job_id  INTEGER NOT NULL REFERENCES mfa_jobs(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason  TEXT NOT NULL,
    PRIMARY KEY (job_id, user_id)
) WITHOUT ROWID;

INSERT INTO mfa_job_failures (job_id, user_id, reason)
    SELECT job_id, user_id, coalesce(reason, 'email address is not valid')
    FROM mfa_job_items WHERE status = 'failed';

-- Items were decided in user order, so the decided ones are the ids up to the cursor.
UPDATE mfa_jobs SET
    cursor_user_id = coalesce(
        (SELECT max(user_id) FROM mfa_job_items
         WHERE mfa_job_items.job_id = mfa_jobs.id AND status != 'pending'), 0),
    last_user_id = coalesce(
        (SELECT max(user_id) FROM mfa_job_items WHERE mfa_job_items.job_id = mfa_jobs.id), 0);

-- A retry covered the failures of the job just before it (one job at a time per subscription).
UPDATE mfa_jobs SET retry_of = (
    SELECT max(previous.id) FROM mfa_jobs AS previous
    WHERE previous.subscription_id = mfa_jobs.subscription_id AND previous.id < mfa_jobs.id)
WHERE kind = 'retry';

DROP INDEX mfa_job_items_by_status;

DROP TABLE mfa_job_items;

CREATE INDEX mfa_jobs_by_subscription ON mfa_jobs(subscription_id, id);
