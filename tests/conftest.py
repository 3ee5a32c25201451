"""Shared fixtures. Hosts are built once per session (they are cached by the library too)."""

import pytest

from dopant_workflows.structures.hosts import lgps_host, lsips_host


@pytest.fixture(scope="session")
def lgps():
    return lgps_host()


@pytest.fixture(scope="session")
def lsips():
    return lsips_host()
