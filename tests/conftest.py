"""Shared fixtures: a real rmq-namesrv process on a free loopback port with its own HOME."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rmq.remoting.client import RemotingClient
from tests.harness.processes import ServerProcess, running_namesrv


@pytest.fixture
def namesrv(tmp_path: Path) -> Iterator[ServerProcess]:
    with running_namesrv(tmp_path / "namesrv-home") as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[RemotingClient]:
    remoting = RemotingClient(timeout=5.0)
    yield remoting
    await remoting.close()


@pytest.fixture
async def bc() -> AsyncIterator[RemotingClient]:
    """A client for broker requests, with room for held pulls and a loaded machine."""
    remoting = RemotingClient(timeout=20.0)
    yield remoting
    await remoting.close()
