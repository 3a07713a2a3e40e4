"""The SSH kiosk tests' installation starts building as soon as the tests are collected."""

from __future__ import annotations

import pytest

from tests.e2e import sshd


def pytest_collection_finish(session: pytest.Session) -> None:
    # The build (a virtualenv and a pip install) mostly waits on the disk and on pip: it runs in
    # the background while this process runs other tests, and is ready when a kiosk test starts.
    if session.config.option.collectonly:
        return
    wanted = any("installation" in getattr(item, "fixturenames", ()) for item in session.items)
    if wanted and not sshd.unavailable():
        sshd.start_shared_installation()


def pytest_sessionfinish() -> None:
    # Never leave a build half done (another process of the run may be about to use it).
    sshd.finish_shared_installation()
