"""Message ids from the store's blocks: the next block is asked for well
before this one runs out, so a submit never waits for the store."""
from __future__ import annotations

import pytest
from twisted.internet.defer import Deferred

from smsc.store.id_blocks import IdsExhausted, MessageIds


class Blocks:
    """The store side: blocks of 10 ids, answered when the test says."""

    def __init__(self) -> None:
        self.asked: list[Deferred[range]] = []
        self.next = 100

    def message_ids(self, now: float) -> "Deferred[range]":
        d: Deferred[range] = Deferred()
        self.asked.append(d)
        return d

    def answer(self) -> None:
        d = self.asked.pop(0)
        d.callback(range(self.next, self.next + 10))
        self.next += 1000


def test_ids_run_through_the_blocks_and_the_next_is_asked_for_early():
    store = Blocks()
    ids = MessageIds(range(1, 11), store)  # type: ignore[arg-type]
    assert ids.take() == 1 and len(store.asked) == 1  # less than a block and a half left
    store.answer()
    assert [ids.take() for _ in range(5)] == [2, 3, 4, 5, 6]
    assert len(store.asked) == 1  # half a block left of this one: the next one asked for
    store.answer()
    got = [ids.take() for _ in range(24)]
    assert got == [7, 8, 9, 10, *range(100, 110), *range(1100, 1110)]
    assert len(set(got)) == len(got)


def test_no_id_left_refuses_until_the_store_answers():
    store = Blocks()
    ids = MessageIds(range(1, 3), store)  # type: ignore[arg-type]
    assert [ids.take(), ids.take()] == [1, 2]
    with pytest.raises(IdsExhausted):
        ids.take()
    store.asked.pop(0).errback(RuntimeError("database down"))
    with pytest.raises(IdsExhausted):
        ids.take()  # asks again
    store.answer()
    assert ids.take() == 100


def test_a_block_that_never_ends_never_asks():
    ids = MessageIds(range(5, 1 << 63))
    assert [ids.take() for _ in range(3)] == [5, 6, 7]
