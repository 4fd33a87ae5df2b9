"""``smsc load``: our own SMPP load client (Twisted, our strict codec).

``main(argv) -> int`` is the CLI entry; the pure statistics live in
``stats`` and ``report``, the wire side in ``client``, one run's driver in
``runner``. ``main`` imports the wire side lazily so that the pure modules
(and their tests) load without Twisted or the codec.
"""
from __future__ import annotations


def main(argv: list[str]) -> int:
    """Run ``smsc load`` with ``argv`` (without the program name); exit code."""
    from .cli import main as cli_main

    return cli_main(argv)


__all__ = ["main"]
