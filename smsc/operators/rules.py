"""First-match lookup of deterministic rules, cheap when nothing matches.

Most destinations match no rule, so the lookup first asks one question in C:
``number.endswith(all_suffixes)``. Only when that says yes, or when there are
regex rules, does it walk the rules in order for the first that matches.
"""
from __future__ import annotations

from collections.abc import Iterable

from .spec import Rule


class RuleMatcher:
    __slots__ = ("rules", "_suffixes", "_has_regex")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._suffixes = tuple(r.suffix for r in self.rules if r.suffix is not None)
        self._has_regex = any(r.regex is not None for r in self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def first(self, number: str) -> Rule | None:
        """The first rule for ``number`` (E.164 digits), or None."""
        if self._has_regex or (self._suffixes and number.endswith(self._suffixes)):
            for rule in self.rules:
                if rule.matches(number):
                    return rule
        return None
