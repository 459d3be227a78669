"""One transition table per stateful model: every allowed move and who makes it.

A model's services enforce its table (``refusal``/``who``) and its views and templates ask it
(``allowed_moves``) which buttons to show, so a rule about statuses changes in one place.
Who a party ("ilo", "factory", "worker", ...) is, is the app's to say: it hands
``allowed_moves`` a predicate that answers for the person asking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Transitions:
    """The moves of one model's status: ``{(from, to): who}``."""

    moves: Mapping[tuple[str, str], str]
    _by_source: dict[str, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_source: dict[str, list[str]] = {}
        for source, target in self.moves:
            by_source.setdefault(source, []).append(target)
        object.__setattr__(self, "_by_source", by_source)

    def who(self, source: str, target: str) -> str | None:
        """Who makes the move from ``source`` to ``target``, or None: not a move."""
        return self.moves.get((source, target))

    def allows(self, source: str, target: str) -> bool:
        return (source, target) in self.moves

    def targets(self, source: str) -> list[str]:
        """Every status a ``source`` row may move to, whoever moves it."""
        return list(self._by_source.get(source, ()))

    def sources(self, target: str) -> tuple[str, ...]:
        """Every status from which a row may move to ``target`` (for querysets)."""
        return tuple(source for source, to in self.moves if to == target)

    def allowed_moves(self, source: str, may: Callable[[str], bool]) -> list[str]:
        """The statuses a row in ``source`` may move to by someone for whom ``may(who)``."""
        return [to for to in self.targets(source) if may(self.moves[(source, to)])]

    def statuses(self) -> set[str]:
        return {status for move in self.moves for status in move}

    def parties(self) -> set[str]:
        return set(self.moves.values())


def from_each(sources: Iterable[str], target: str, who: str) -> dict[tuple[str, str], str]:
    """``{(source, target): who}`` for several sources: shorthand for a table."""
    return {(source, target): who for source in sources}
