"""Rules for account fields, shared by the CLI and (later) the HTTP admin API."""
from __future__ import annotations

import re

from .passwords import MAX_PASSWORD_LENGTH

MODES = ("test", "user")
#: SMPP 3.4 system_id: 16 octets with the NUL
MAX_SYSTEM_ID_LENGTH = 15
_SYSTEM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,%d}$" % MAX_SYSTEM_ID_LENGTH)
#: alpha-names: Latin letters and digits, at most 11 (SPEC section 2)
ALPHA_NAME = re.compile(r"[A-Za-z0-9]{1,11}")
#: numeric senders: up to 15 digits (E.164)
NUMERIC_SENDER = re.compile(r"[0-9]{1,15}")


def check_system_id(system_id: str) -> str:
    if not _SYSTEM_ID.match(system_id):
        raise ValueError(
            f"system_id {system_id!r}: 1-{MAX_SYSTEM_ID_LENGTH} characters of A-Z a-z 0-9 _ . -"
        )
    return system_id


def check_password(password: str) -> str:
    if not 1 <= len(password) <= MAX_PASSWORD_LENGTH or not password.isascii():
        raise ValueError(f"password: 1-{MAX_PASSWORD_LENGTH} ASCII characters (the SMPP field size)")
    return password


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: one of {', '.join(MODES)}")
    return mode


def check_alpha(name: str) -> str:
    """A sender name to register: an alpha-name or a numeric sender."""
    if not (ALPHA_NAME.fullmatch(name) or NUMERIC_SENDER.fullmatch(name)):
        raise ValueError(f"alpha-name {name!r}: 1-11 Latin letters and digits, or up to 15 digits")
    return name
