"""README "Running a cluster" as documented: its node config is a config
smsc takes, and config/haproxy.cfg checks the port that config serves
/health on."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from smsc import config as config_mod

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_node_config_and_haproxy_agree():
    section = (ROOT / "README.md").read_text().split("## Running a cluster")[1].split("\n## ")[0]
    toml = section.split("<<TOML\n")[1].split("\nTOML\n")[0]
    cfg = config_mod.parse(tomllib.loads(toml), "README")
    assert (cfg.cluster.node, cfg.cluster.lease) == ("smsc-a", 10.0)
    assert cfg.store.url.startswith("postgresql://") and cfg.http.enabled
    haproxy = (ROOT / "config" / "haproxy.cfg").read_text()
    assert "mode tcp" in haproxy and "balance leastconn" in haproxy
    assert "option httpchk GET /health" in haproxy
    assert re.search(rf"default-server check .*port {cfg.http.port}\b", haproxy)
    # the PROXY header goes out exactly when the nodes expect it
    assert cfg.smpp.proxy_protocol and "send-proxy-v2" in haproxy
    assert cfg.smpp.max_connections_per_address == 0
    servers = re.findall(rf"^\s+server \S+ \S+:{cfg.smpp.port}$", haproxy, re.M)
    assert len(servers) == 3
