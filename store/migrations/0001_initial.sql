-- The first schema: subscriptions, users, their MFA factors, codes, the MFA process job, audit, outbox.
-- Times are seconds since the epoch (REAL), taken from the program's clock so tests can move it.

CREATE TABLE subscriptions (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    mfa_enabled     INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1)),
    allowed_methods TEXT NOT NULL DEFAULT 'email,sms',
    created_at      REAL NOT NULL
);

CREATE TABLE products (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE subscription_products (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    product_id      INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    PRIMARY KEY (subscription_id, product_id)
) WITHOUT ROWID;

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    subscription_id     INTEGER NOT NULL REFERENCES subscriptions(id),
    email               TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email_deliverable   INTEGER NOT NULL DEFAULT 1 CHECK (email_deliverable IN (0, 1)),
    email_problem       TEXT,
    display_name        TEXT NOT NULL,
    role                TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    status              TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    password_hash       TEXT NOT NULL,
    mfa_required        INTEGER NOT NULL DEFAULT 0 CHECK (mfa_required IN (0, 1)),
    last_method_id      INTEGER REFERENCES mfa_methods(id) ON DELETE SET NULL,
    preferred_method_id INTEGER REFERENCES mfa_methods(id) ON DELETE SET NULL,
    failed_attempts     INTEGER NOT NULL DEFAULT 0,
    locked_until        REAL,
    created_at          REAL NOT NULL
);
CREATE INDEX users_by_subscription ON users(subscription_id);

CREATE TABLE mfa_methods (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('email', 'sms', 'totp')),
    destination  TEXT NOT NULL,
    secret       BLOB NOT NULL,
    counter      INTEGER NOT NULL DEFAULT 0,
    last_step    INTEGER,
    verified_at  REAL,
    last_used_at REAL,
    created_at   REAL NOT NULL,
    UNIQUE (user_id, kind)
);

-- One live code per user; a resend replaces the row.
CREATE TABLE otp_challenges (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    method_id   INTEGER NOT NULL REFERENCES mfa_methods(id) ON DELETE CASCADE,
    counter     INTEGER NOT NULL,
    issued_at   REAL NOT NULL,
    expires_at  REAL NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    consumed_at REAL
);

-- Successful sends, for the resend cooldown and the per-account send limit.
CREATE TABLE otp_sends (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    method_id INTEGER REFERENCES mfa_methods(id) ON DELETE SET NULL,
    sent_at   REAL NOT NULL
);
CREATE INDEX otp_sends_by_user ON otp_sends(user_id, sent_at);

CREATE TABLE recovery_codes (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash     TEXT NOT NULL,
    used_at  REAL
);

CREATE TABLE mfa_jobs (
    id               INTEGER PRIMARY KEY,
    subscription_id  INTEGER NOT NULL REFERENCES subscriptions(id),
    kind             TEXT NOT NULL CHECK (kind IN ('enable', 'retry')),
    status           TEXT NOT NULL CHECK (status IN ('running', 'complete')),
    total            INTEGER NOT NULL DEFAULT 0,
    succeeded        INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0,
    started_by       INTEGER REFERENCES users(id),
    started_at       REAL NOT NULL,
    finished_at      REAL,
    lease_owner      TEXT,
    lease_expires_at REAL
);
-- At most one running job per subscription, whichever process starts it.
CREATE UNIQUE INDEX one_running_job_per_subscription
    ON mfa_jobs(subscription_id) WHERE status = 'running';

CREATE TABLE mfa_job_items (
    job_id   INTEGER NOT NULL REFERENCES mfa_jobs(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status   TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    reason   TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, user_id)
) WITHOUT ROWID;
CREATE INDEX mfa_job_items_by_status ON mfa_job_items(job_id, status);

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,
    at         REAL NOT NULL,
    actor_id   INTEGER,
    subject_id INTEGER,
    event      TEXT NOT NULL,
    detail     TEXT
);
CREATE INDEX audit_events_by_subject ON audit_events(subject_id, at);

-- Delivery log. The body (which holds a code) is stored only by the demo sink.
CREATE TABLE outbox (
    id        INTEGER PRIMARY KEY,
    channel   TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient TEXT NOT NULL,
    subject   TEXT NOT NULL DEFAULT '',
    body      TEXT,
    sent_at   REAL NOT NULL,
    error     TEXT
);
