-- Sign-in addresses are compared by a canonical key computed in Python (store/email_key.py):
-- the key of every existing address is filled in by the Python step of this migration
-- (store/migrations/__init__.py), which stops, naming both accounts, when two addresses share one.
-- NULL only for rows written before this migration ran, until the step fills them.

ALTER TABLE users ADD COLUMN email_key TEXT;

CREATE UNIQUE INDEX users_by_email_key ON users(email_key);
