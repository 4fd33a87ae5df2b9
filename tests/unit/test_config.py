from pathlib import Path

import pytest

from smsc import config


def test_shipped_default_loads():
    cfg = config.load()
    assert cfg.smpp.port == 2775
    assert cfg.store.path == "smsc.db"
    assert cfg.accounts.test_balance_kopecks == 200


def test_unknown_key_names_file_and_key(tmp_path: Path):
    p = tmp_path / "bad.toml"
    p.write_text("[smpp]\nprot = 2775\n")
    with pytest.raises(config.ConfigError) as exc:
        config.load(p)
    assert str(p) in str(exc.value) and "prot" in str(exc.value) and "[smpp]" in str(exc.value)


def test_wrong_type_names_key(tmp_path: Path):
    p = tmp_path / "bad.toml"
    p.write_text('[smpp]\nport = "2775"\n')
    with pytest.raises(config.ConfigError) as exc:
        config.load(p)
    assert "[smpp].port" in str(exc.value) and "expected int" in str(exc.value)


def test_unknown_section_and_bad_toml(tmp_path: Path):
    p = tmp_path / "bad.toml"
    p.write_text("[nope]\na = 1\n")
    with pytest.raises(config.ConfigError, match=r"unknown section \[nope\]"):
        config.load(p)
    p.write_text("[smpp\n")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.load(p)


def test_bad_value(tmp_path: Path):
    p = tmp_path / "bad.toml"
    p.write_text('[store]\nsynchronous = "SOMETIMES"\n')
    with pytest.raises(config.ConfigError, match=r"\[store\].synchronous"):
        config.load(p)
    p.write_text("[smpp]\nwindow = 0\n")
    with pytest.raises(config.ConfigError, match=r"window"):
        config.load(p)
    p.write_text("[smpp]\noutput_pause = 4096\nmax_output = 1000\n")
    with pytest.raises(config.ConfigError, match=r"max_output: must be at least output_pause"):
        config.load(p)
    p.write_text("[smpp]\nbacklog = 0\n")
    with pytest.raises(config.ConfigError, match=r"bad.toml: \[smpp\].backlog: must be at least 1"):
        config.load(p)


def test_int_accepted_for_float_and_overrides():
    cfg = config.parse({"smpp": {"response_timeout": 5}}, "x.toml")
    assert cfg.smpp.response_timeout == 5.0
    cfg2 = config.with_overrides(cfg, smpp={"port": 0, "host": None})
    assert cfg2.smpp.port == 0 and cfg2.smpp.host == cfg.smpp.host


def test_a_relative_store_path_is_relative_to_the_config_files_directory(tmp_path: Path):
    p = tmp_path / "conf" / "smsc.toml"
    p.parent.mkdir()
    p.write_text('[store]\npath = "data/smsc.db"\n')
    assert config.load(p).store.path == str(tmp_path / "conf" / "data" / "smsc.db")
    assert config.load(p).source == str(p)
    p.write_text(f'[store]\npath = "{tmp_path / "abs.db"}"\n')
    assert config.load(p).store.path == str(tmp_path / "abs.db")
    p.write_text("[smpp]\nport = 1\n")  # the default path, relative to the file too
    assert config.load(p).store.path == str(tmp_path / "conf" / "smsc.db")
    # without a file the shipped default keeps it in the working directory
    assert config.load().store.path == "smsc.db"
