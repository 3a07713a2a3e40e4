-- Admin user management, recovery codes and reading the audit log, kept fast on large tables.
--
-- Users screen: one page of a subscription's users in address order (keyset on email), and a
-- search by the start of the address or of the name, both through an index.
CREATE INDEX users_by_subscription_email ON users(subscription_id, email COLLATE NOCASE);
CREATE INDEX users_by_subscription_name ON users(subscription_id, display_name COLLATE NOCASE);

-- A recovery code is found by its keyed hash within the user's set.
CREATE INDEX recovery_codes_by_user ON recovery_codes(user_id, hash);

-- The audit log is read newest first (keyset on at, id), whole or filtered by user (as subject or
-- as actor), by kind (the part of the event before the dot: signin, mfa, user, admin, ...) or by
-- exact event, always with a time order. The retention prune walks the time index from the oldest.
ALTER TABLE audit_events ADD COLUMN kind TEXT
    GENERATED ALWAYS AS (CASE WHEN instr(event, '.') > 0
                              THEN substr(event, 1, instr(event, '.') - 1)
                              ELSE event END) VIRTUAL;
CREATE INDEX audit_events_by_time ON audit_events(at);
CREATE INDEX audit_events_by_actor ON audit_events(actor_id, at);
CREATE INDEX audit_events_by_kind ON audit_events(kind, at);
CREATE INDEX audit_events_by_event ON audit_events(event, at);
