"""Per-account IP allowlists: parsing, matching and the store's table (no server)."""
from __future__ import annotations

import pytest

from smsc.accounts import admin
from smsc.accounts.allowlist import allows, normalise
from smsc.records import Account
from smsc.store.port import NotAllowlisted, NoSuchAccount
from smsc.store.sqlite import Store


def test_normal_forms():
    assert normalise("10.1.2.3") == "10.1.2.3/32"
    assert normalise(" 192.0.2.0/24 ") == "192.0.2.0/24"
    assert normalise("2001:DB8:0:0::/32") == "2001:db8::/32"
    assert normalise("::1") == "::1/128"
    with pytest.raises(ValueError, match="host bits set; the network is 10.1.0.0/16"):
        normalise("10.1.2.3/16")
    for bad in ("", "localhost", "10.1.2.300", "10.0.0.0/33", "2001:db8::/129"):
        with pytest.raises(ValueError, match="not an IP address"):
            normalise(bad)


def test_matching():
    nets = ("10.1.0.0/16", "2001:db8::/32", "127.0.0.1/32")
    assert allows((), "203.0.113.9")  # empty: any address
    assert allows(nets, "10.1.200.7") and allows(nets, "127.0.0.1")
    assert not allows(nets, "10.2.0.1") and not allows(nets, "127.0.0.2")
    assert allows(nets, "2001:db8:1::5") and not allows(nets, "2001:db9::1")
    assert allows(nets, "::ffff:10.1.2.3")  # a dual-stack listener's IPv4 peer
    assert allows(("fe80::/10",), "fe80::1%eth0")
    assert not allows(nets, "") and not allows(nets, "not-an-address")


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "s.db"))
    s.add_account(Account("shop", "hash", "user", 1000))
    s.add_account(Account("other", "hash", "user", 1000))
    yield s
    s.close()


def test_store_add_list_remove(store):
    assert store.add_allowlist("shop", ["10.1.0.0/16", "2001:db8::/32", "10.1.0.0/16"]) == 2
    assert store.add_allowlist("shop", ["10.1.0.0/16"]) == 0
    assert store.allowlist("shop") == ["10.1.0.0/16", "2001:db8::/32"]
    assert store.allowlist("other") == []
    # the account records carry it: what a bind and the refresh after commits read
    assert store.get_account("shop").allowlist == ("10.1.0.0/16", "2001:db8::/32")
    assert store.get_accounts(["shop", "other"])["shop"].allowlist == ("10.1.0.0/16", "2001:db8::/32")
    assert store.bind_account("shop", 0)[0].allowlist == ("10.1.0.0/16", "2001:db8::/32")
    assert store.get_accounts(["other"])["other"].allowlist == ()
    with pytest.raises(NotAllowlisted) as e:
        store.remove_allowlist("shop", ["10.1.0.0/16", "192.0.2.0/24"])
    assert e.value.networks == ["192.0.2.0/24"]
    assert store.allowlist("shop") == ["10.1.0.0/16", "2001:db8::/32"]  # all or nothing
    assert store.remove_allowlist("shop", ["10.1.0.0/16"]) == 1
    assert store.allowlist("shop") == ["2001:db8::/32"]
    with pytest.raises(NoSuchAccount):
        store.add_allowlist("ghost", ["10.0.0.0/8"])


def test_admin_operations(store):
    nets, added = admin.allowlist_add(store, "shop", ["10.1.2.3", "10.1.2.3/32", "::1"])
    assert (nets, added) == (["10.1.2.3/32", "::1/128"], 2)
    assert admin.account_json(admin.get_account(store, "shop"))["allowlist"] == ["10.1.2.3/32", "::1/128"]
    with pytest.raises(admin.AdminError) as e:
        admin.allowlist_add(store, "shop", ["10.1.2.3/8"])
    assert (e.value.code, e.value.field) == ("invalid", "networks")
    with pytest.raises(admin.AdminError) as e:
        admin.allowlist_remove(store, "shop", ["192.0.2.1"])
    assert (e.value.code, e.value.field) == ("not_found", "networks")
    with pytest.raises(admin.AdminError) as e:
        admin.allowlist(store, "ghost")
    assert e.value.code == "not_found"
