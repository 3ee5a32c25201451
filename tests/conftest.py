"""Shared fixtures. Hosts are built once per session (they are cached by the library too)."""

import pytest

from dopant_workflows.structures.hosts import lgps_host, lsips_host


@pytest.fixture(scope="session")
def lgps():
    return lgps_host()


@pytest.fixture(scope="session")
def lsips():
    return lsips_host()


@pytest.fixture
def memory_launchpad(monkeypatch):
    """A FireWorks LaunchPad on an in-memory mongomock database (as the embedded store, without its file)."""
    import mongomock
    import mongomock.gridfs
    from fireworks import LaunchPad

    mongomock.gridfs.enable_gridfs_integration()  # as FireWorks' embedded mode does
    monkeypatch.setattr("fireworks.core.launchpad.MongoClient", mongomock.MongoClient)
    lpad = LaunchPad(name="memory_launchpad")
    lpad.reset("", require_password=False)
    return lpad
