"""The store's blacklist tables, refunds and message reads (SQLite, no server)."""
from __future__ import annotations

import pytest

from smsc.records import Account, Message
from smsc.store.port import Batch, NoSuchAccount, NotBlacklisted
from smsc.store.sqlite import Store


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "s.db"))
    s.add_account(Account("shop", "hash", "user", 1000))
    s.add_account(Account("other", "hash", "user", 1000))
    yield s
    s.close()


def test_blacklist_add_list_remove(store):
    assert store.add_blacklist("shop", ["380671234567", "380501112233", "380671234567"]) == 2
    assert store.add_blacklist("shop", ["380671234567"]) == 0  # already there
    assert store.blacklist("shop") == ["380501112233", "380671234567"]
    assert store.blacklist("other") == []
    assert store.remove_blacklist("shop", ["380671234567"]) == 1
    assert store.blacklist("shop") == ["380501112233"]


def test_blacklist_remove_is_all_or_nothing(store):
    store.add_blacklist("shop", ["380671234567"])
    with pytest.raises(NotBlacklisted) as e:
        store.remove_blacklist("shop", ["380671234567", "380991112233"])
    assert e.value.numbers == ["380991112233"]
    assert store.blacklist("shop") == ["380671234567"]


def test_blacklist_of_no_account(store):
    with pytest.raises(NoSuchAccount):
        store.add_blacklist("ghost", ["380671234567"])
    with pytest.raises(NoSuchAccount):
        store.remove_blacklist("ghost", ["380671234567"])


def test_accounts_carry_their_blacklist_reread_only_when_it_changed(store, tmp_path):
    first = store.get_accounts(["shop", "other"])
    assert first["shop"].blacklist == frozenset() == first["other"].blacklist
    cli = Store(str(tmp_path / "s.db"))  # another connection, as the CLI has
    cli.add_blacklist("shop", ["380671234567"])
    second = store.get_accounts(["shop", "other"])
    assert second["shop"].blacklist == {"380671234567"}
    third = store.get_accounts(["shop"])
    assert third["shop"].blacklist is second["shop"].blacklist  # cached, not reread
    cli.remove_blacklist("shop", ["380671234567"])
    cli.add_blacklist("shop", ["380501112233"])
    assert store.get_accounts(["shop"])["shop"].blacklist == {"380501112233"}
    cli.close()
    # the CLI's reads leave it out; the server's bind read has it
    assert store.get_account("shop").blacklist == frozenset()
    assert store.get_account("shop", blacklist=True).blacklist == {"380501112233"}
    assert store.get_account("ghost", blacklist=True) is None


def _message(n: int, cost: int = 20, segments: int = 2) -> Message:
    return Message(n, "shop", 5, 0, "SMSClub", 1, 1, "380671234567", 0, 0, 1, b"hi", 100.0,
                   "380671234567", "kyivstar", segments, cost)


def test_refund_gives_the_charge_back_and_zeroes_the_cost(store):
    m = _message(7)
    store.write_batch(Batch(inserts=[m], charges={"shop": 20}, usage={("shop", 1): [1, 2, 20]}, size=1))
    assert store.get_account("shop").balance_kopecks == 980
    got = store.get_message(7)
    assert got == (m, 1, None, None, None)
    store.write_batch(Batch(
        refunds=[7], charges={"shop": -20}, usage={("shop", 1): [-1, -2, -20]},
        finishes={(4, "DELETED", 0, 160.0, 0): [7]}, size=2,
    ))
    assert store.get_account("shop").balance_kopecks == 1000
    assert store.usage_today("shop", 1) == 0
    assert store.get_message(7) == (m._replace(cost=0), 4, "DELETED", 0, 160.0)
    assert store.get_message(8) is None


def test_expire_owed_gives_up_only_old_owed_receipts(tmp_path):
    from smsc.records import Message
    from smsc.store.port import RECEIPT_OWED, Batch
    from smsc.store.sqlite import Store

    s = Store(str(tmp_path / "r.db"))
    b = Batch()
    for n in (1, 2, 3):
        b.inserts.append(Message(n, "a", 5, 0, "S", 1, 1, "380671234567", 0, 0, 1, b"x", 0.0))
    s.write_batch(b)
    b = Batch()
    b.finishes[(2, "DELIVRD", 0, 100.0, RECEIPT_OWED)] = [1]
    b.finishes[(2, "DELIVRD", 0, 900.0, RECEIPT_OWED)] = [2]
    b.finishes[(2, "DELIVRD", 0, 50.0, 2)] = [3]  # acknowledged long ago
    s.write_batch(b)
    assert s.expire_owed(before=500.0) == 1
    assert [m.id for m, *_ in s.owed_receipts()] == [2]


def test_a_batch_whose_submits_the_balance_cannot_cover_leaves_them_out(store):
    """write_batch's conditional decrement: shop's two submits (30 + 20) less
    its refund (10) exceed its 39 kopecks, so neither submit is stored,
    charged nor counted; its refund and final state in the same batch go
    in, and so does other's submit."""
    store.write_batch(Batch(inserts=[_message(1, cost=10)], charges={"shop": 10},
                            usage={("shop", 1): [1, 2, 10]}, debits={("shop", 1): [1, 2, 10]}))
    store.add_balance("shop", -951)  # 39 left
    theirs = _message(4, cost=20)._replace(system_id="other")
    result = store.write_batch(Batch(
        inserts=[_message(2, cost=30), _message(3, cost=20), theirs],
        refunds=[1], finishes={(4, "DELETED", 0, 160.0, 0): [1]},
        charges={"shop": 30 + 20 - 10, "other": 20},
        usage={("shop", 1): [2 - 1, 4 - 2, 50 - 10], ("other", 1): [1, 2, 20]},
        debits={("shop", 1): [2, 4, 50], ("other", 1): [1, 2, 20]},
        read_accounts=frozenset({"shop", "other"}), size=5,
    ))
    assert result.refused == {"shop"}
    assert (result.accounts["shop"].balance_kopecks, result.accounts["other"].balance_kopecks) == (49, 980)
    assert store.get_message(2) is None and store.get_message(3) is None
    assert store.get_message(4).message == theirs
    assert store.get_message(1)[1:3] == (4, "DELETED") and store.get_message(1).message.cost == 0
    assert (store.usage_today("shop", 1), store.usage_today("other", 1)) == (0, 1)
    # covered: written as one
    result = store.write_batch(Batch(inserts=[_message(5, cost=49)], charges={"shop": 49},
                                     usage={("shop", 1): [1, 2, 49]}, debits={("shop", 1): [1, 2, 49]}))
    assert result.refused == frozenset() and store.get_account("shop").balance_kopecks == 0
    assert store.get_message(5) is not None


def test_message_ids_are_past_the_stored_ones_and_the_time_floor(store):
    first = store.message_ids(1000.0)
    assert first.start == 1000 << 20 and len(first) > 1 << 40
    store.write_batch(Batch(inserts=[_message(first.start + 5)]))
    assert store.message_ids(1000.0).start == first.start + 6
    assert store.message_ids(2000.0).start == 2000 << 20
