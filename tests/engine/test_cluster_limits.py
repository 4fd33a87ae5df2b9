"""max_binds and the rate across two engines on one PostgreSQL store
(smsc.engine.cluster_limits), each on its own task.Clock: two nodes."""
from __future__ import annotations

import pytest

from smsc.pdu.constants import CommandStatus as S
from smsc.pdu.errors import SmppError

from .rig import Rig

LEASE = 10.0


@pytest.fixture
def two(pg_store_url):
    rigs = [Rig(pg_store_url), Rig(pg_store_url)]
    rigs[0].add(rate=10.0, max_binds=2)
    limits = [rig.engine.share_limits(name, LEASE) for rig, name in zip(rigs, "ab", strict=True)]
    for rig, name in zip(rigs, "ab", strict=True):
        rig.store.heartbeat(name, LEASE)
    yield rigs, limits
    for rig in rigs:
        rig.close()


def test_binds_on_one_node_count_on_the_other_and_the_rate_is_shared(two):
    (a, b), (la, lb) = two
    on_a = a.bind()
    assert (on_a.nodes, on_a.bucket.rate) == (1, 10.0)
    on_b = b.bind()
    assert (on_b.nodes, on_b.bucket.rate) == (2, 5.0)  # a holds one: half the rate here
    with pytest.raises(SmppError) as refused:
        a.bind()
    assert refused.value.status == S.ESME_RBINDFAIL
    la.sync()  # a learns of b's bind within a sync
    a.run(0.05)
    assert (on_a.nodes, on_a.bucket.rate) == (2, 5.0)
    b.engine.release(on_b)  # b's session ends: its slot comes back at once
    b.run(0.05)
    assert a.bind() is on_a and on_a.binds == 2
    la.sync()
    a.run(0.05)
    assert (on_a.nodes, on_a.bucket.rate) == (1, 10.0)


def test_a_sync_mends_a_lost_unbind(two):
    (a, b), (la, lb) = two
    on_a = a.bind()
    a.bind()
    a.engine.release(on_a)
    # the unbind's write is lost (say the database was away): the row says 2
    a.store.take_bind("a", "shop", 0, LEASE)
    with pytest.raises(SmppError):
        b.bind()
    la.sync()
    a.run(0.05)
    assert b.bind().binds == 1  # a's row is 1 again: b's bind fits
