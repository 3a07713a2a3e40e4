-- Settings whose value is baked into stored data, and the value it was last judged with.
-- 'email.internal_domains': the addresses' stored verdicts (users.email_deliverable and
--   email_problem) depend on it; when the configured value differs, they are judged again.
CREATE TABLE applied_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    applied_at REAL NOT NULL
) WITHOUT ROWID;
