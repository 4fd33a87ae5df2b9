from smsc.accounts.limits import DailyCap, TokenBucket


def test_bucket_allows_burst_then_rate():
    b = TokenBucket(rate=10, burst=5, now=0.0)
    assert [b.take(0.0) for _ in range(6)] == [True] * 5 + [False]
    assert not b.take(0.05)  # half a token
    assert b.take(0.1)  # one token after 0.1 s at 10/s
    assert not b.take(0.1)


def test_bucket_never_exceeds_burst_after_idle():
    b = TokenBucket(rate=100, burst=3, now=0.0)
    assert sum(b.take(1000.0) for _ in range(10)) == 3


def test_bucket_give_back_and_multi_token():
    b = TokenBucket(rate=1, burst=4, now=0.0)
    assert b.take(0.0, 3) and not b.take(0.0, 2)
    b.give_back(3)
    assert b.take(0.0, 4)


def test_daily_cap_resets_at_utc_midnight():
    c = DailyCap(2)
    day = 86400 * 20000
    assert c.take(day + 10) and c.take(day + 20) and not c.take(day + 30)
    c.give_back()
    assert c.take(day + 40) and not c.take(day + 50)
    assert c.take(day + 86400)


def test_daily_cap_seeded_after_restart():
    day = 20000
    c = DailyCap(3, day=day, used=3)
    assert not c.take(day * 86400 + 5)


def test_a_retuned_bucket_keeps_its_tokens_up_to_the_new_burst():
    b = TokenBucket(10.0, now=0.0)
    for _ in range(4):
        assert b.take(0.0)
    b.retune(5.0, 0.0)  # a second node binds: half the rate, no fresh burst
    assert (b.rate, b.burst) == (5.0, 5.0)
    assert sum(b.take(0.0) for _ in range(10)) == 5
    b.retune(10.0, 1.0)  # it leaves: 5 tokens came in the second, burst 10 again
    assert sum(b.take(1.0) for _ in range(20)) == 5
