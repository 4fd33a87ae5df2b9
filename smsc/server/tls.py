"""SMPP over TLS: the same ``SmppFactory`` behind Twisted's TLS layer.

The listener (``[tls] port``, ``cert``, ``key``) wraps the plain listener's
factory, so a TLS session is a plain session in every respect: bind types,
receipts, windows, limits, timers. The TLS layer (pyOpenSSL, memory BIOs)
sits between the socket and the protocol; ``SmppProtocol`` sets TCP_NODELAY
on its transport's socket, which under TLS is one layer further down, so
the wrapper sets it here (without it Nagle's algorithm holds back small
responses until the peer's delayed ACK: tens of ms per round trip).

The server offers TLS 1.2 and up (Twisted's ``CertificateOptions``
defaults: its ciphers, no client certificates). A client that speaks plain
SMPP to this port fails the handshake and is disconnected: its bind is never
read.
"""
from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

from OpenSSL import crypto
from twisted.internet import ssl
from twisted.internet.interfaces import IProtocolFactory
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


class TlsConfigError(Exception):
    """The certificate or key cannot be used; the message says which file."""


def certificate_options(cert_path: str, key_path: str = "") -> ssl.CertificateOptions:
    """TLS options from PEM files: ``cert_path`` holds the certificate,
    then any intermediates (the chain sent to clients); the private key is
    in ``key_path``, or in ``cert_path`` too when that is ""."""
    try:
        pem = Path(cert_path).read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"[tls] cert {cert_path}: {exc.strerror}") from None
    blocks = _PEM_CERT.findall(pem)
    if not blocks:
        raise TlsConfigError(f"[tls] cert {cert_path}: no PEM certificate in it")
    try:
        key_pem = Path(key_path).read_bytes() if key_path else pem
    except OSError as exc:
        raise TlsConfigError(f"[tls] key {key_path}: {exc.strerror}") from None
    try:
        certs = [crypto.load_certificate(crypto.FILETYPE_PEM, b) for b in blocks]
    except crypto.Error as exc:
        raise TlsConfigError(f"[tls] cert {cert_path}: not a valid certificate ({exc})") from None
    try:
        key = crypto.load_privatekey(crypto.FILETYPE_PEM, key_pem)
    except crypto.Error:
        where = f"key {key_path}" if key_path else f"cert {cert_path} (no key given)"
        raise TlsConfigError(f"[tls] {where}: no PEM private key in it") from None
    try:
        options = ssl.CertificateOptions(privateKey=key, certificate=certs[0], extraCertChain=certs[1:])
        options.getContext()  # made now, so a key that does not match stops the start
        return options
    except Exception as exc:  # OpenSSL.SSL.Error: the key does not match the certificate
        raise TlsConfigError(f"[tls] cert {cert_path}, key {key_path or cert_path}: {exc}") from None


class _NoDelayTls(TLSMemoryBIOProtocol):
    def makeConnection(self, transport: Any) -> None:  # noqa: N802 (Twisted's name)
        sock = getattr(transport, "socket", None)
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().makeConnection(transport)  # type: ignore[no-untyped-call]


class TlsFactory(TLSMemoryBIOFactory):
    """``factory``'s protocols over TLS (server side), with TCP_NODELAY."""

    protocol = _NoDelayTls
    noisy = False

    def __init__(self, options: ssl.CertificateOptions, factory: IProtocolFactory) -> None:
        super().__init__(options, False, factory)

    def buildProtocol(self, addr: Any) -> Any:
        """None (the connection is closed) when the SMPP factory refuses it
        (its connection limits), else the SMPP session inside TLS."""
        inner = self.wrappedFactory.buildProtocol(addr)
        return None if inner is None else self.protocol(self, inner)  # type: ignore[no-untyped-call]
