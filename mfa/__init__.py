"""The domain: passwords, codes, delivery, the sign-in flow and the MFA process. No Textual here."""
