"""SQLite storage: the connection, migrations, and query functions that return dataclasses.

Nothing here knows about Textual or the domain rules; ``mfa`` decides, ``store`` records.
"""

from store.db import Database, DatabaseBusy, DatabaseTooNew, StoreError, open_database

__all__ = ["Database", "DatabaseBusy", "DatabaseTooNew", "StoreError", "open_database"]
