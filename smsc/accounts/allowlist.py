"""Per-account IP allowlists: the networks an account may log in from.

An account with an empty list may log in from any address (what every
account had before allowlists). Otherwise a bind, an HTTP Basic login or an
API key from an address outside every listed network is refused
(ESME_RBINDFAIL, HTTP 403), before its password is even checked.

Networks are IPv4 or IPv6 CIDRs (``ipaddress``), stored in their normal
form (``10.1.0.0/16``, ``2001:db8::/32``); a bare address is a /32 or /128.
An IPv4-mapped IPv6 peer (``::ffff:10.1.2.3``, what a dual-stack listener
reports for an IPv4 client) is checked as the IPv4 address it carries.
"""
from __future__ import annotations

import functools
import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def normalise(text: str) -> str:
    """``text`` as a network in normal form; ValueError saying what is wrong.

    Host bits set (``10.1.2.3/16``) are an error rather than silently
    widened: the operator may have meant the address alone."""
    text = text.strip()
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        try:
            wide = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {text!r}") from None
        raise ValueError(f"{text}: host bits set; the network is {wide}") from exc
    return str(net)


@functools.lru_cache(maxsize=4096)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    """Parsed once per distinct list (binds are frequent in a reconnect storm)."""
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def allows(cidrs: tuple[str, ...], host: str) -> bool:
    """``host`` (a peer address as the transport reports it) may log in to an
    account whose allowlist is ``cidrs``. An empty list allows every address;
    a host that is not an IP address (a UNIX socket, "") only that."""
    if not cidrs:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _networks(cidrs))
