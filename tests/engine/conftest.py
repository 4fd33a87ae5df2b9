from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from collections.abc import Callable

import pytest

from .rig import Rig


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(**sections: Any) -> Rig:
        rig = Rig(tmp_path / "smsc.db", **sections)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()
