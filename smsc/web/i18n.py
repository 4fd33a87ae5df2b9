"""The cabinet's languages: gettext catalogs (``smsc/web/locale/LANG/LC_MESSAGES/cabinet.po``)
read with Babel.

The ``.po`` files are the source and the only thing in the repository: each
is compiled to a ``.mo`` in memory the first time a language is asked for
(``babel.messages.pofile.read_po`` then ``mofile.write_mo``) and read by the
standard library's ``gettext.GNUTranslations``, so a fresh ``pip install -e .``
runs with no build step and an edited catalog is picked up on restart.

Message ids are the English texts; report statuses are ``status:WORD``
(``status:DELIVRD`` is "ДОСТАВЛЕНО" in Ukrainian: the FAQ's words).
"""
from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "cabinet"
LANGUAGES = ("uk", "en")
DEFAULT = "uk"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang`` (one of LANGUAGES), compiled from its .po once."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def gettext_for(lang: str) -> Callable[[str], str]:
    return translations(lang if lang in LANGUAGES else DEFAULT).gettext


def status_name(_: Callable[[str], str], word: str) -> str:
    """A report status in the reader's language (``status:WORD`` in the catalog), the word itself if none."""
    key = f"status:{word}"
    found = _(key)
    return word if found == key else found
