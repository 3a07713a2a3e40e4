"""SQLite storage: the connection, migrations, and query functions that return dataclasses.

Nothing here knows about Textual or the domain rules; ``mfa`` decides, ``store`` records. One
rule is applied here, for speed: the MFA process's verdict on each user (``store.jobs.decide_next``
runs it over thousands of users per statement, with the reasons' words given by ``mfa``).
"""

from store.db import Database, DatabaseBusy, DatabaseTooNew, StoreError, open_database

__all__ = ["Database", "DatabaseBusy", "DatabaseTooNew", "StoreError", "open_database"]
