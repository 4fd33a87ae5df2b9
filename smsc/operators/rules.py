"""First-match lookup of deterministic rules, cheap when nothing matches.

Most destinations match no rule, so ``first`` asks two questions in C before
any Python loop: ``number.endswith(all_suffixes)`` and one alternation of all
the regexes. Only a number one of them accepts walks the rules, in order,
for the first that matches.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from .spec import Rule


def _any_regex(rules: tuple[Rule, ...]) -> Callable[[str], object] | None:
    """``fullmatch`` of all the rules' regexes as one alternation, or None
    when that could change their meaning (groups: numbering and names would
    clash) — then every regex is tried in turn."""
    patterns = [r.regex for r in rules if r.regex is not None]
    if not patterns:
        return None
    if any(re.compile(p).groups for p in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns)).fullmatch
    except re.error:  # e.g. an inline flag that must open the whole pattern
        return None


class RuleMatcher:
    __slots__ = ("rules", "_suffixes", "_has_regex", "_any_regex", "_checks")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._suffixes = tuple(r.suffix for r in self.rules if r.suffix is not None)
        self._has_regex = any(r.regex is not None for r in self.rules)
        self._any_regex = _any_regex(self.rules)
        #: (suffix, None, rule) or (None, compiled fullmatch, rule), in order
        self._checks = tuple(
            (r.suffix, None if r.regex is None else re.compile(r.regex).fullmatch, r) for r in self.rules
        )

    def __bool__(self) -> bool:
        return bool(self.rules)

    def first(self, number: str) -> Rule | None:
        """The first rule for ``number`` (E.164 digits), or None."""
        if not number.endswith(self._suffixes):
            if not self._has_regex:
                return None
            if self._any_regex is not None and self._any_regex(number) is None:
                return None
        for suffix, fullmatch, rule in self._checks:
            # a rule has a suffix or a regex: suffix is a str when fullmatch is None
            if number.endswith(suffix) if fullmatch is None else fullmatch(number) is not None:  # type: ignore[arg-type]
                return rule
        return None
