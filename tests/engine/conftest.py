from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from collections.abc import Callable

import pytest

from .rig import Rig


@pytest.fixture
def make_rig(store_target: str) -> Iterator[Callable[..., Rig]]:
    """Rigs on the test's store (each engine test runs on SQLite and on
    PostgreSQL); a second rig is a restart on the same store."""
    rigs: list[Rig] = []

    def make(**sections: Any) -> Rig:
        rig = Rig(store_target, **sections)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()
