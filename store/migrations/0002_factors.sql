-- Codes remember where they went and what they are for.
-- destination: the address or number the code was delivered to. A setup code for a new mobile number
--   carries the new number here; the method keeps its old (verified) number until the code is entered.
-- purpose: 'setup' codes confirm a method (or a changed number); 'sign_in' codes finish a sign-in.
--   Neither is accepted in place of the other.

ALTER TABLE otp_challenges ADD COLUMN destination TEXT NOT NULL DEFAULT '';

ALTER TABLE otp_challenges ADD COLUMN purpose TEXT NOT NULL DEFAULT 'sign_in'
    CHECK (purpose IN ('setup', 'sign_in'));
