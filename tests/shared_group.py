"""A Unix group other than this process's own, for tests of files shared with a group.

Root may give a file any group; anyone else only a group they belong to. Tests that need one skip
when there is none (a user in no supplementary group).
"""

from __future__ import annotations

import grp
import os

import pytest


def other_group() -> tuple[str, int]:
    """``(name, gid)`` of a group this process may give its files, other than its own group."""
    own = os.getegid()
    root = os.geteuid() == 0
    candidates = [entry.gr_gid for entry in grp.getgrall()] if root else os.getgroups()
    for gid in candidates:
        if gid != own:
            try:
                return grp.getgrgid(gid).gr_name, gid
            except KeyError:
                continue
    pytest.skip("this account belongs to no group besides its own")
