"""The data that flows from checks to reports: deviations, and findings built from them.

A *deviation* is one observed difference between a response and the spec, explained
(``field-name-alias``, ``enum-casing``, ...). A *finding* is a deviation after
classification against the catalogue and the spec's assumptions, merged with its
identical twins (``identity``). A *fail policy* says which findings fail a run (``--fail-on``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from conformance.errors import UsageError
from conformance.kinds import Classification, Severity, kind_of, signature


@dataclass(frozen=True)
class FailWord:
    """One word of ``--fail-on``: which findings it makes fail, and whether a catalogued quirk the
    vendor seems to have fixed fails too. A new word is one more row of ``FAIL_WORDS``."""

    #: Counts of ``tally`` whose findings fail: a classification, or a new finding's severity.
    fails: frozenset[str] = frozenset()
    #: A catalogued quirk that did not appear where responses showed its place fails the run.
    resolved: bool = False
    #: Words of one choice exclude each other; the choice's first word is taken when none is named.
    choice: str | None = None
    #: Aspects of observed behaviour whose change since the last night fails it (``CHANGE_ASPECTS``).
    changes: frozenset[str] = frozenset()


#: What a behaviour profile compares night to night (``results.changes``): a change of any of them
#: is class ``changed``, never drift; ``--fail-on changed`` fails on all, ``changed:values`` on one.
CHANGE_ASPECTS = ("values", "shapes", "presence", "types", "statuses", "latency")

#: The words of ``--fail-on``, in the order a run records them: the new drift that fails a run
#: (``breaking``, or ``any`` for additive too), ``resolved``: a quirk the vendor seems to have
#: fixed fails it too, and ``changed``: observed behaviour that changed since the last night.
FAIL_WORDS: dict[str, FailWord] = {
    "breaking": FailWord(fails=frozenset({Severity.BREAKING}), choice="drift"),
    "any": FailWord(fails=frozenset({Classification.NEW}), choice="drift"),
    # an HTTP convention no document of the API states fails only when asked for
    "convention": FailWord(fails=frozenset({Classification.CONVENTION})),
    "resolved": FailWord(resolved=True),
    "changed": FailWord(changes=frozenset(CHANGE_ASPECTS)),
    **{f"changed:{aspect}": FailWord(changes=frozenset({aspect})) for aspect in CHANGE_ASPECTS},
}
#: ``--strict``: any deviation fails the run. Recorded as ``strict``; no word of ``--fail-on``.
_STRICT_WORD, _STRICT_MEANING = "strict", FailWord(fails=frozenset(Classification), choice="drift")


def _meaning(word: str) -> FailWord:
    return _STRICT_MEANING if word == _STRICT_WORD else FAIL_WORDS[word]


@dataclass(frozen=True)
class FailPolicy:
    """What fails a run, read once from ``--fail-on`` (``FailPolicy.parse``) or from the
    ``fail_on`` a results document records (``FailPolicy.recorded``); ``str()`` is that record.
    Every question of what fails (a finding, a resolved quirk, a count of findings, the exit
    code) is answered here, from the table of words."""

    #: Its words, in the order of the table; one of each choice.
    words: tuple[str, ...] = ("breaking",)

    def __post_init__(self) -> None:
        """Known words, in the table's order, one of each choice."""
        ordered = list(self.words) == [word for word in (_STRICT_WORD, *FAIL_WORDS) if word in self.words]
        choices = [_meaning(word).choice for word in self.words] if ordered else []
        if not ordered or sorted(str(c) for c in choices if c) != sorted(_choices()):
            raise ValueError(f"not a fail policy: {self.words!r}")

    @classmethod
    def parse(cls, text: str) -> FailPolicy:
        """``--fail-on``: comma-separated words of ``FAIL_WORDS``, at most one of each choice (its
        first word when none is named); anything else is a one-line error."""
        words = [word.strip() for word in str(text).split(",") if word.strip()]
        unknown = [word for word in words if word not in FAIL_WORDS]
        if not words or unknown:
            raise UsageError(
                f"--fail-on takes {', '.join(_shown(list(FAIL_WORDS)))} (comma-separated), not {text!r}"
            )
        chosen = set(words)
        for options in _choices().values():
            named = [word for word in options if word in chosen]
            if len(named) > 1:
                raise UsageError(f"--fail-on takes one of {' and '.join(options)}, not both")
            chosen.add(named[0] if named else options[0])
        return cls(tuple(word for word in FAIL_WORDS if word in chosen))

    @classmethod
    def recorded(cls, text: str) -> FailPolicy:
        """The policy a results document records as ``fail_on`` (``strict`` too)."""
        return STRICT if text == _STRICT_WORD else cls.parse(text)

    def __str__(self) -> str:
        return ",".join(self.words)

    @property
    def strict(self) -> bool:
        """Whether any deviation fails (``--strict``)."""
        return _STRICT_WORD in self.words

    @property
    def drift(self) -> str:
        """Which new drift fails: ``strict`` (any deviation), ``any`` or ``breaking``."""
        return next(word for word in self.words if _meaning(word).choice == "drift")

    @property
    def fails_resolved(self) -> bool:
        """Whether a catalogued quirk the vendor seems to have fixed fails the run."""
        return any(_meaning(word).resolved for word in self.words)

    def fails_change(self, aspect: str) -> bool:
        """Whether a change of observed behaviour in ``aspect`` fails the night (``compare``)."""
        return any(aspect in _meaning(word).changes for word in self.words)

    @cached_property
    def _failing_classes(self) -> frozenset[str]:
        classes = {str(name) for word in self.words for name in _meaning(word).fails}
        if str(Classification.NEW) in classes:  # a new finding counts under new and its severity: once
            classes -= {str(severity) for severity in Severity}
        return frozenset(classes)

    def fails(self, finding: Finding) -> bool:
        """Whether ``finding`` fails the run."""
        return not self._failing_classes.isdisjoint(finding.classes)

    def failing(self, counts: Mapping[str, int]) -> int:
        """How many of the findings ``counts`` tallies fail the run (``tally``, or the counts a
        results document keeps of a run, an API or an operation)."""
        return sum(int(counts.get(name, 0)) for name in self._failing_classes)

    def exit_code(
        self, findings: Iterable[Finding], *, resolved: int = 0, errors: int = 0, complete: bool = True
    ) -> int:
        """2 when there were ``errors`` or the run is not ``complete``; 1 when a finding fails, or
        one of the ``resolved`` quirks does; else 0."""
        if errors or not complete:
            return 2
        if resolved and self.fails_resolved:
            return 1
        return 1 if any(self.fails(finding) for finding in findings) else 0


def _choices() -> dict[str, list[str]]:
    """The words of ``--fail-on`` that exclude each other, by choice, in the table's order."""
    choices: dict[str, list[str]] = {}
    for word, meaning in FAIL_WORDS.items():
        if meaning.choice is not None:
            choices.setdefault(meaning.choice, []).append(word)
    return choices


#: ``--strict``: any deviation fails the run.
STRICT = FailPolicy((_STRICT_WORD,))
#: The default: new breaking drift fails a run (``--fail-on breaking``).
BREAKING = FailPolicy()


def _syntax() -> list[tuple[list[str], bool]]:
    """What ``--fail-on`` records, in the table's order: each choice (one of its words, always
    recorded) and each other word (recorded when named: optional)."""
    parts: list[tuple[list[str], bool]] = []
    for word, meaning in FAIL_WORDS.items():
        if meaning.choice is None:
            parts.append(([word], True))
        elif word == _choices()[meaning.choice][0]:
            parts.append((_choices()[meaning.choice], False))
    return parts


def recorded_pattern() -> str:
    """A regular expression of every ``fail_on`` that ``--fail-on`` records (the results schema's)."""
    text = "".join(
        f"(,{'|'.join(words)})?" if optional else f"{',' if index else ''}({'|'.join(words)})"
        for index, (words, optional) in enumerate(_syntax())
    )
    return f"^{text}$"


def _shown(words: list[str]) -> list[str]:
    """Words as help and errors list them: ``changed:values`` and its siblings are left out, as
    ``changed`` shows them: ``changed[:ASPECT]`` (an aspect of ``CHANGE_ASPECTS``)."""
    return [f"{word}[:ASPECT]" if word == "changed" else word for word in words if ":" not in word]


def fail_on_usage() -> str:
    """``--fail-on``'s words as its help shows them: ``breaking|any[,resolved][,changed[:ASPECT]]``."""
    return "".join(
        f"[,{'|'.join(_shown(words))}]" if optional else f"{',' if index else ''}{'|'.join(words)}"
        for index, (words, optional) in enumerate(_syntax())
        if _shown(words)
    )


def identity(
    target: str,
    operation: str,
    status_code: int | None,
    location: str,
    kind: str,
    expected: Any,
    observed: Any,
    *,
    grouped: bool = False,
) -> tuple[str, ...]:
    """What makes two findings one, in a run and from one results file to another: where (the
    target, operation, status and location) and what (the kind, and the expected and observed
    values as the kind compares them). A group is one by its location pattern alone: the values
    it samples differ from run to run."""
    values = () if grouped else (signature(kind, expected), signature(kind, observed))
    return (target, operation, str(status_code), location, kind, *values)


@dataclass(frozen=True)
class Deviation:
    """One explained difference between what a server did and what the spec says."""

    api: str
    operation: str
    status_code: int | None
    location: str
    kind: str
    expected: Any
    observed: Any
    message: str = ""
    #: Why the spec says what it says here, when no document does (its ``x-assumption``).
    assumption: str | None = None

    def __post_init__(self) -> None:
        kind_of(self.kind)  # a misspelled kind fails here, where it is named

    @property
    def key(self) -> tuple[str, ...]:
        """Identity used to merge identical deviations seen in different cases (``identity``),
        worked out once: a deviation remembered for a body, or stored for a finding, is asked for
        it by every response that shows it again."""
        key: tuple[str, ...] | None = self.__dict__.get("_key")
        if key is None:
            key = identity(
                self.api,
                self.operation,
                self.status_code,
                self.location,
                self.kind,
                self.expected,
                self.observed,
            )
            object.__setattr__(self, "_key", key)
        return key

    @property
    def signatures(self) -> tuple[str, ...]:
        """The expected and observed values as the kind compares them (``kinds.signature``), taken
        from ``key``: worked out once, however many catalogue entries the deviation is held against."""
        return self.key[-2:]

    @property
    def severity(self) -> Severity:
        return kind_of(self.kind).severity


@dataclass
class Finding:
    """A classified deviation, merged across cases, ready for reports."""

    api: str
    operation: str
    status_code: int | None
    location: str
    kind: str
    expected: Any
    observed: Any
    classification: Classification
    severity: Severity
    quirk: str | None
    doc: str | None
    message: str = ""
    count: int = 1
    request: str | None = None
    source: str = "check"
    #: The spec's reason for the statement this finding contradicts, when it is an assumption.
    assumption: str | None = None
    #: When the finding stands for many that differ only in a varying part (member names,
    #: values): ``{"distinct": N, "values": [the first few]}``; its location is then a pattern.
    group: dict[str, Any] | None = None
    #: For a known finding: its catalogue entry's summary. The public pages a finding rests on
    #: (``title``, ``url``, ``section``): a known one's citations, a convention's public text, the
    #: vendor's section documenting a new one's operation; a report read later needs no catalogue.
    quirk_summary: str | None = None
    citations: list[dict[str, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The finding on one line, what and where: a JUnit failure's message, an annotation's title."""
        return " ".join(f"{self.kind} at {self.location or '(body)'}: {self.message}".split())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classification"] = str(self.classification)
        data["severity"] = str(self.severity)
        return data

    @property
    def classes(self) -> tuple[str, ...]:
        """The counts it adds to (``tally``): its classification, and a new finding's severity."""
        if self.classification is Classification.NEW:
            return (str(self.classification), str(self.severity))
        return (str(self.classification),)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """A finding as ``results.json`` holds it (merging and comparing read them back)."""
        fields = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(
            **fields
            | {
                "classification": Classification(data["classification"]),
                "severity": Severity(data["severity"]),
            }
        )


def tally(findings: Iterable[Finding]) -> dict[str, int]:
    """Counts every report shows: by classification, and new drift by severity."""
    counts = {str(c): 0 for c in Classification} | {str(s): 0 for s in Severity}
    for finding in findings:
        for name in finding.classes:
            counts[name] += 1
    return counts


#: What one judged response counts as, best first: the score's stacked bar shows all six, so
#: a run whose responses are all catalogued quirks does not read as all conforming.
OUTCOMES = ("conforming", "known", "convention", "assumption", "additive", "breaking")


def outcome(findings: Iterable[Finding]) -> str:
    """A response's outcome: its worst finding (new drift by severity), ``conforming`` if none."""
    worst = 0
    for finding in findings:
        name = finding.severity if finding.classification is Classification.NEW else finding.classification
        worst = max(worst, OUTCOMES.index(str(name)))
    return OUTCOMES[worst]
