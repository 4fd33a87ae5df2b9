"""The XML API under ``/xml``: the account routes of the JSON API (send,
status, balance, bases, campaigns, sender names) with XML bodies, beside
it (FAQ 8: "SMPP/HTTP/XML").

Same handlers, so the same rules, statuses and errors: only the body's
spelling differs. A request body is one element whose children are the
JSON object's fields (``<request><from>SMSClub</from>...</request>``); an
element whose children all share one name is an array
(``<numbers><number>...</number></numbers>``). Text stands for a JSON
string, number or boolean, as the route's field wants it (``<validity>60</validity>``
is the integer 60, ``true``/``false`` booleans). A response is
``<response>`` with the JSON answer's fields as children, arrays as
repeated ``<item>`` (a list named ``bases`` holds ``<base>`` items,
``numbers`` ``<number>``), null as an empty element with ``nil="true"``;
an error is ``<response><error><code>...</code>...</error></response>``.

Parsed with defusedxml: a DTD, an entity declaration or an external
reference is refused (400 invalid_xml), so no entity expansion ("billion
laughs") or external fetch can happen.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

#: JSON plural names whose items get a singular element name
_ITEM = {"bases": "base", "numbers": "number", "campaigns": "campaign", "recipients": "recipient",
         "applications": "application", "senders": "sender", "invalid_rows": "row", "history": "entry",
         "columns": "column", "lines": "line"}


class XmlBodyError(ValueError):
    pass


def parse(raw: bytes) -> dict[str, Any]:
    """The body as the JSON object it spells; ``XmlBodyError`` saying why not."""
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XmlBodyError(f"forbidden XML ({type(exc).__name__}): no DTDs or entities") from None
    except SafeET.ParseError as exc:
        raise XmlBodyError(f"the body is not XML: {exc}") from None
    value = _value(root)
    if not isinstance(value, dict):
        raise XmlBodyError("the root element must have child elements, one per field")
    return value


def _value(e: Element) -> Any:
    children = list(e)
    if not children:
        if e.get("nil") == "true":
            return None
        return (e.text or "").strip() if (e.text or "").strip() else (e.text or "")
    names = {c.tag for c in children}
    if len(children) > 1 and len(names) == 1 or e.tag in _ITEM:
        return [_value(c) for c in children]
    out: dict[str, Any] = {}
    for c in children:
        if c.tag in out:
            raise XmlBodyError(f"<{c.tag}> given twice")
        out[c.tag] = _value(c)
    return out


def coerce(value: Any, kinds: tuple[type, ...]) -> Any:
    """XML text as the JSON type a route's field wants (str stays str when
    str is allowed); anything that does not fit is returned as it is, and
    the route's own check refuses it, naming the field."""
    if not isinstance(value, str) or str in kinds:
        return value
    text = value.strip()
    if bool in kinds and text in ("true", "false"):
        return text == "true"
    if int in kinds and text.lstrip("-").isdigit():
        return int(text)
    if Decimal in kinds:
        try:
            return Decimal(text)
        except InvalidOperation:
            return value
    return value


def render(body: Any) -> bytes:
    root = Element("response")
    _put(root, body)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="utf-8", xml_declaration=False)


def _put(e: Element, value: Any, name: str = "") -> None:
    if value is None:
        e.set("nil", "true")
    elif isinstance(value, dict):
        for k, v in value.items():
            tag = str(k) if str(k)[:1].isalpha() and str(k).replace("_", "").replace("-", "").isalnum() else "field"
            child = SubElement(e, tag)
            if tag == "field":
                child.set("name", str(k))
            _put(child, v, str(k))
    elif isinstance(value, (list, tuple)):
        item = _ITEM.get(name, "item")
        for v in value:
            _put(SubElement(e, item), v, item)
    elif isinstance(value, bool):
        e.text = "true" if value else "false"
    else:
        e.text = str(value)
