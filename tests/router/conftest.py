from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .rig import RouterRig


@pytest.fixture
def make_router(tmp_path: Path) -> Iterator[Callable[..., RouterRig]]:
    rigs: list[RouterRig] = []

    def make(**kw: Any) -> RouterRig:
        rig = RouterRig(tmp_path / "smsc.db", **kw)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()
