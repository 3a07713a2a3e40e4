"""The terminal user interface (Textual). Screens render what the ``mfa`` domain decides."""
