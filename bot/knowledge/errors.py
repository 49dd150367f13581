"""Errors of the knowledge loader, and its problems as structured codes.

``KnowledgeError`` carries every problem found in one load, each naming the file and field, so
an editor sees all of them at once instead of fixing one per run.

A :class:`Problem` is data, not a sentence: a :data:`Code` from the documented set below, the
file, field and list index it concerns and the values the message needs (``params``, all
strings). ``str(problem)`` is the English message for developers (``python -m bot check``,
logs); the editor API words the same problem in German from its code (``bot.web.problems``),
so no message is ever parsed back.

Codes and their ``params`` (``at`` below is "field 'x'", "field 'x[i]'" with an index, and
"fact 'n': field 'x'" for a fact):

Files
    ``bad_yaml`` (detail: PyYAML's diagnosis; line: 1-based, when known), ``unreadable``
    (detail), ``empty_file``, ``topic_not_mapping`` (fields: the topic fields, listed),
    ``facts_not_mapping``, ``utility_missing``, ``no_topics`` (file: the topics directory).
Facts (``knowledge/facts/*.yml``; every one has ``fact``, the fact's name)
    ``fact_defined_twice`` (other_file), ``fact_not_mapping``, ``unknown_unit`` (choices),
    ``not_a_number``, ``no_check``, ``not_url``; ``bad_date`` also applies to a fact's value.
Fields of a topic
    ``missing``, ``id_mismatch`` (value), ``not_positive_int``, ``unknown_measure`` (choices),
    ``no_sources``, ``source_incomplete`` (index: the source), ``related_not_list``,
    ``questions_not_texts``, ``bad_date`` (got: the value's repr), ``valid_to_before_from``,
    ``not_bool``, ``empty_text``, ``facets_not_mapping`` (choices), ``unknown_facet`` (facet,
    choices), ``facet_value`` (facet, choices).
Across topics (``other`` is always the id of the other topic)
    ``same_facets`` (other, measure), ``too_few_questions`` (count, minimum),
    ``duplicate_question`` (question), ``question_taken`` (question, other),
    ``unknown_placeholder`` (placeholder), ``figure_not_placeholder`` (figure),
    ``unknown_related`` (topic).
Others
    ``setting``: a setting of the utility profile (opening hours, mention feeds) is invalid;
    ``field`` is its dotted path, ``detail`` the English explanation (the profile is edited
    in files only, never in the editor). ``message``: a problem the content store words in
    German itself (``message``), see :meth:`Problem.text`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Final, Literal, get_args

Code = Literal[
    # files
    "bad_yaml",
    "unreadable",
    "empty_file",
    "topic_not_mapping",
    "facts_not_mapping",
    "utility_missing",
    "no_topics",
    # facts
    "fact_defined_twice",
    "fact_not_mapping",
    "unknown_unit",
    "not_a_number",
    "no_check",
    "not_url",
    # fields of a topic
    "missing",
    "id_mismatch",
    "not_positive_int",
    "unknown_measure",
    "no_sources",
    "source_incomplete",
    "related_not_list",
    "questions_not_texts",
    "bad_date",
    "valid_to_before_from",
    "not_bool",
    "empty_text",
    "facets_not_mapping",
    "unknown_facet",
    "facet_value",
    # across topics
    "same_facets",
    "too_few_questions",
    "duplicate_question",
    "question_taken",
    "unknown_placeholder",
    "figure_not_placeholder",
    "unknown_related",
    # others
    "setting",
    "message",
]
CODES: Final[tuple[Code, ...]] = get_args(Code)

# The English message of each code; "{file}: " goes in front when the file is known.
ENGLISH: Final[dict[Code, str]] = {
    "bad_yaml": "malformed YAML{line_note}: {detail}",
    "unreadable": "cannot be read: {detail}",
    "empty_file": "file is empty",
    "topic_not_mapping": "expected a mapping with the fields {fields}",
    "facts_not_mapping": "expected a mapping of fact names",
    "utility_missing": "missing or not a mapping",
    "no_topics": "no topics found",
    "fact_defined_twice": "fact {fact!r}: already defined in {other_file}",
    "fact_not_mapping": "fact {fact!r}: expected a mapping with value, unit, check, source",
    "unknown_unit": "{at} must be one of {choices}",
    "not_a_number": "{at} must be a number",
    "no_check": "{at} (a snippet of the domain source) missing",
    "not_url": "{at} must be a URL",
    "missing": "{at} is missing",
    "id_mismatch": "{at} is {value!r} but must equal the file name",
    "not_positive_int": "{at} must be a positive integer",
    "unknown_measure": "{at} must be one of {choices}",
    "no_sources": "{at} must list at least one source",
    "source_incomplete": "{at} needs 'title' and 'url'",
    "related_not_list": "{at} must be a list of topic ids",
    "questions_not_texts": "{at} must be a list of non-empty texts",
    "bad_date": "{at}: expected a date YYYY-MM-DD, got {got}",
    "valid_to_before_from": "{at} is before 'valid_from'",
    "not_bool": "{at} must be true or false",
    "empty_text": "{at}: must be a non-empty text",
    "facets_not_mapping": "{at} must map facet names ({choices}) to lists of values",
    "unknown_facet": "{at}: unknown facet {facet!r} (known: {choices})",
    "facet_value": "{at}: facet {facet!r} takes values from {choices}",
    "same_facets": (
        "{at} is the same as in topic {other!r} (measure {measure!r}); a follow-up could not "
        "tell them apart"
    ),
    "too_few_questions": "{at} has {count} variants, at least {minimum} are required",
    "duplicate_question": "{at} lists {question!r} twice",
    "question_taken": (
        "{at}: {question!r} is also a question of topic {other!r} (knowledge/topics/{other}.yml)"
    ),
    "unknown_placeholder": "{at}: unknown placeholder {placeholder}",
    "figure_not_placeholder": (
        "{at}: figure {figure!r} must come from knowledge/facts as a placeholder"
    ),
    "unknown_related": "{at}: unknown topic {topic!r}",
    "setting": "{at}: {detail}",
    # The content store's own German messages, in the form they always had.
    "message": "Feld '{field}': {message}",
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem of the content: what (``code``), where, and the values to word it.

    Attributes:
        code: one of :data:`CODES` (see the module docstring for each one's ``params``).
        file: the file it was found in (a path as text), None when not known or when the
            content store reports a problem of the topic being edited.
        field: the field of the topic (or fact, or setting), None for a whole file.
        index: the position in a list field (``sources[1]`` has index 1).
        params: the values the message names, as texts.
    """

    code: Code
    file: str | None = None
    field: str | None = None
    index: int | None = None
    # A dict is not hashable: equality compares it, the hash leaves it out.
    params: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)

    @classmethod
    def text(cls, field: str, message: str, *, file: str | None = None) -> Problem:
        """A problem of ``field`` the content store words in German itself."""
        return cls("message", file, field, params={"message": message})

    @classmethod
    def setting(cls, field: str, detail: str) -> Problem:
        """An invalid setting of the utility profile (the file is added by the caller)."""
        return cls("setting", field=field, params={"detail": detail})

    def __str__(self) -> str:
        at = "" if self.field is None else f"field '{self.field}'"
        if self.field is not None and self.index is not None:
            at = f"field '{self.field}[{self.index}]'"
        if "fact" in self.params:
            at = f"fact {self.params['fact']!r}: {at}"
        line = self.params.get("line")
        values = {
            **self.params,
            "at": at,
            "field": self.field or "",
            "line_note": f" (line {line})" if line else "",
        }
        text = ENGLISH[self.code].format(**values)
        return f"{self.file}: {text}" if self.file else text


class KnowledgeError(ValueError):
    """The content in ``knowledge/`` is invalid."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("invalid knowledge:\n" + "\n".join(f"  - {p}" for p in self.problems))
