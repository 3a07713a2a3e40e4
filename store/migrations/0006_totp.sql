-- The authenticator app (TOTP) method.
-- mfa_methods already allows kind 'totp' and has last_step (0001): for a 'totp' row, last_step is the
--   newest 30-second time step whose code was accepted; codes of that step or an earlier one are
--   never accepted again, whichever process judges them.
-- pending_secret: a new secret (encrypted like secret) while an authenticator app that is already
--   set up is being replaced; the old secret keeps working until a code of the new one is entered.

ALTER TABLE mfa_methods ADD COLUMN pending_secret BLOB;
