import pytest

from smsc.accounts import validation
from smsc.accounts.money import format_uah, parse_uah
from smsc.accounts.passwords import generate_password, hash_password, verify_password
from smsc.accounts.throttle import LoginThrottle


def test_password_hash_roundtrip_and_salt():
    h1, h2 = hash_password("secret"), hash_password("secret")
    assert h1 != h2 and "secret" not in h1
    assert verify_password("secret", h1) and verify_password("secret", h2)
    assert not verify_password("Secret", h1)
    assert not verify_password("secret", "garbage")


def test_generated_password_fits_smpp_field():
    p = generate_password()
    assert validation.check_password(p) == p


@pytest.mark.parametrize("text,kopecks", [("2", 200), ("2.00", 200), ("0.01", 1), ("1000.5", 100050)])
def test_parse_uah(text, kopecks):
    assert parse_uah(text) == kopecks


@pytest.mark.parametrize("text", ["abc", "0.001", "nan", "inf", ""])
def test_parse_uah_refuses(text):
    with pytest.raises(ValueError):
        parse_uah(text)


def test_format_uah():
    assert format_uah(200) == "2.00" and format_uah(5) == "0.05" and format_uah(-150) == "-1.50"


@pytest.mark.parametrize("bad", ["", "a" * 16, "sp ace", "ünï"])
def test_system_id_rules(bad):
    with pytest.raises(ValueError):
        validation.check_system_id(bad)


@pytest.mark.parametrize("bad", ["", "TwelveChars1", "with space", "Кирил"])
def test_alpha_rules(bad):
    with pytest.raises(ValueError):
        validation.check_alpha(bad)
    assert validation.check_alpha("SMSClub") == "SMSClub"


def test_login_throttle_window_per_address():
    now = [100.0]
    t = LoginThrottle(3, 60.0, lambda: now[0])
    for _ in range(3):
        assert t.blocked("h") is None
        t.failed("h", "acc")
    assert t.blocked("h") == "address" and t.blocked("other") is None
    now[0] += 61
    assert t.blocked("h") is None


def test_a_success_clears_only_its_own_account():
    t = LoginThrottle(3, 60.0, lambda: 100.0, max_per_account=3, lockout=10.0)
    t.failed("h", "victim")
    t.failed("h", "victim")
    t.succeeded("h", "mine")
    t.failed("h", "victim")
    assert t.blocked("h", "mine") == "address"  # mine's success did not clear the address


def test_an_account_is_locked_from_every_address_for_the_lockout():
    now = [100.0]
    locked = []
    t = LoginThrottle(100, 60.0, lambda: now[0], max_per_account=2, lockout=30.0, on_lockout=locked.append)
    t.failed("a", "acc")
    t.failed("b", "acc")
    assert t.blocked("c", "acc") == "account" and t.blocked("c", "other") is None
    assert locked == ["acc"]
    now[0] += 31
    assert t.blocked("c", "acc") is None
    t.failed("a")  # no account named: the address only, nothing to lock
    assert t.blocked("a", "acc") is None
