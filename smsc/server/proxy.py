"""The PROXY protocol (v1 and v2) on the SMPP listeners, for nodes behind
HAProxy (``[smpp] proxy_protocol``; HAProxy's ``send-proxy-v2``).

A TCP balancer passes bytes only, so a node sees every client coming from
the balancer's address: IP allowlists, the failed-login throttle per
address and the logs would all name the balancer. With the PROXY protocol
the balancer first sends one header with the client's address; Twisted's
``twisted.protocols.haproxy`` reads it and the session's
``transport.getPeer()`` then answers the client's address, which the bind
(``BindInfo.host``) and the log lines already read. A connection without
a valid header is closed before a byte reaches the session.

The connection limits are counted when the connection is accepted, before
the header arrives: ``max_connections_per_address`` counts the balancer's
address (give it room: 0 or the balancer's ``maxconn``).

Under TLS the header comes first (HAProxy in TCP mode passes the TLS bytes
through), so this layer goes outside the TLS one.
"""
from __future__ import annotations

from typing import Any

# the factory is public in use (twisted.protocols.haproxy.proxyEndpoint wraps
# an endpoint with it) but exported only through endpoints; our listeners
# are adopted sockets (smsc.startup.bind), not endpoints
from twisted.protocols.haproxy._wrapper import HAProxyWrappingFactory


class ProxyFactory(HAProxyWrappingFactory):
    """``HAProxyWrappingFactory`` that keeps the SMPP factory's refusals:
    a connection past ``[smpp] max_connections`` is closed, not wrapped."""

    noisy = False  # no "Starting factory" log lines, as the SMPP factory

    def buildProtocol(self, addr: Any) -> Any:
        inner = self.wrappedFactory.buildProtocol(addr)
        return None if inner is None else self.protocol(self, inner)  # type: ignore[arg-type]  # untyped upstream
