"""[operators.KEY] kind = "smpp": parsed and checked like every other key
(errors name the file, the table and the key; the password never shows)."""
from __future__ import annotations

import pytest

from smsc import config as config_mod
from smsc.operators.spec import DEFAULT_OPERATORS, OperatorSpec, UpstreamSpec, parse_operators

BASE = {"kind": "smpp", "host": "127.0.0.1", "port": 2776, "system_id": "down", "password": "downpw"}


def test_the_contract_example_is_an_upstream_with_sensible_defaults():
    ops = parse_operators({"kyivstar": {**BASE, "name": "Kyivstar (upstream)", "price": 42, "ttl": 259200}},
                          "smsc.toml")
    k = ops["kyivstar"]
    assert isinstance(k, UpstreamSpec)
    assert (k.name, k.price, k.ttl, k.host, k.port, k.system_id) == (
        "Kyivstar (upstream)", 42, 259200.0, "127.0.0.1", 2776, "down")
    assert (k.bind, k.binds, k.window, k.throughput, k.tls) == ("trx", 1, 10, 0.0, False)
    assert k.destination_ton is None and k.source_ton is None
    # the others stay simulated: any mix works
    assert ops["vodafone"] == DEFAULT_OPERATORS["vodafone"] and isinstance(ops["vodafone"], OperatorSpec)


def test_a_shipped_key_keeps_its_name_price_and_ttl_and_a_new_key_needs_a_price():
    ops = parse_operators({"lifecell": dict(BASE), "up": {**BASE, "price": 7}}, "smsc.toml")
    assert (ops["lifecell"].name, ops["lifecell"].price, ops["lifecell"].ttl) == ("lifecell", 36, 86400.0)
    assert (ops["up"].name, ops["up"].price) == ("up", 7)


def test_kind_sim_is_the_default_and_may_be_said():
    ops = parse_operators({"kyivstar": {"kind": "sim", "price": 50}}, "smsc.toml")
    assert isinstance(ops["kyivstar"], OperatorSpec) and ops["kyivstar"].price == 50


def test_the_password_is_not_in_the_repr():
    spec = parse_operators({"kyivstar": dict(BASE)}, "smsc.toml")["kyivstar"]
    assert "downpw" not in repr(spec) and "downpw" not in str(spec)


@pytest.mark.parametrize("change, message", [
    ({"kind": "kannel"}, r"\[operators.kyivstar\].kind: one of sim, smpp, got 'kannel'"),
    ({"host": None}, r"\[operators.kyivstar\].host: required"),
    ({"password": None}, r"\[operators.kyivstar\].password: required"),
    ({"port": "2776"}, r"smsc.toml: \[operators.kyivstar\].port: expected int, got str '2776'"),
    ({"port": 70000}, r"\[operators.kyivstar\].port: must be 1 to 65535"),
    ({"system_id": "x" * 16}, r"\[operators.kyivstar\].system_id: 1 to 15"),
    ({"password": "123456789"}, r"\[operators.kyivstar\].password: at most 8"),
    ({"bind": "rx"}, r"\[operators.kyivstar\].bind: one of trx, tx\+rx"),
    ({"binds": 0}, r"\[operators.kyivstar\].binds: must be at least 1"),
    ({"window": 0}, r"\[operators.kyivstar\].window: must be at least 1"),
    ({"queue_limit": 0}, r"\[operators.kyivstar\].queue_limit: must be at least 1"),
    ({"throughput": -1}, r"\[operators.kyivstar\].throughput: must not be negative"),
    ({"reconnect": 0}, r"\[operators.kyivstar\].reconnect: must be above 0"),
    ({"enquire_link": 0}, r"\[operators.kyivstar\].enquire_link: must be above 0"),
    ({"response_timeout": -1}, r"\[operators.kyivstar\].response_timeout: must be above 0"),
    ({"tls": "yes"}, r"\[operators.kyivstar\].tls: expected true or false"),
    ({"ca": "ca.pem"}, r"\[operators.kyivstar\].ca: only with tls = true"),
    ({"tls": True, "ca": "/nonexistent/ca.pem"}, r"\[operators.kyivstar\].ca: no such file"),
    ({"destination_ton": 256}, r"\[operators.kyivstar\].destination_ton: must be 0 to 255"),
    ({"delay_min": 1.0}, r"\[operators.kyivstar\]: unknown key 'delay_min'"),
    ({"system_type": "x" * 13}, r"\[operators.kyivstar\].system_type: at most 12"),
])
def test_errors_name_the_file_the_table_and_the_key(change, message):
    table = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    with pytest.raises(ValueError, match=message) as info:
        parse_operators({"kyivstar": table}, "smsc.toml")
    assert "downpw" not in str(info.value)


def test_a_config_with_an_upstream_routes_its_prefixes_to_it():
    cfg = config_mod.parse({"operators": {"kyivstar": dict(BASE)}}, "smsc.toml")
    assert cfg.routes.lookup("380671234567") == "kyivstar"
    assert isinstance(cfg.operators["kyivstar"], UpstreamSpec)
    with pytest.raises(config_mod.ConfigError, match=r"smsc.toml: \[operators.kyivstar\].port"):
        config_mod.parse({"operators": {"kyivstar": {**BASE, "port": 0}}}, "smsc.toml")


def test_the_readme_router_example_parses_with_its_stated_defaults():
    import tomllib
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Router mode")[1]
    raw = tomllib.loads(section.split("```toml")[1].split("```")[0])
    k = parse_operators(raw["operators"], "README")["kyivstar"]
    assert isinstance(k, UpstreamSpec)
    # the example sets the optional keys to what it says are their defaults
    assert k == UpstreamSpec(name="Kyivstar (upstream)", price=42, ttl=259200.0, host="127.0.0.1", port=2776,
                             system_id="down", password="downpw")
    assert len(raw["operators"]["kyivstar"]) == 18  # the required keys and the optional ones, at their defaults


def test_the_shipped_config_still_parses():
    cfg = config_mod.load()
    assert all(isinstance(spec, OperatorSpec) for spec in cfg.operators.values())
