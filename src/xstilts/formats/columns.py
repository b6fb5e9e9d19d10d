"""Hub columns of each task format: typed specs and the adapters from a hub row to the format's
canonical record (see the format modules). Stdlib only: the registry imports it.

A spec names the columns of one hub configuration; a typo in a field name fails when the registry
is imported, and ``xstilts.read_hub`` checks at load time that every named column exists. Labels are
mapped through the data set's own features: a ``ClassLabel`` index becomes its name, a string
column is the name itself, so a different label order on the hub cannot swap labels.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

PLACEHOLDERS = (-1, "", None)  # how the hub writes "no gold label" (GLUE/SNLI/CosmosQA, HellaSwag)


class HubRowError(ValueError):
    """A hub row that cannot become a record (the caller adds task, split and row)."""


def _name(value, names: list[str] | None):
    """The label name of ``value``: a ClassLabel index through ``names``, else the value itself."""
    if value in PLACEHOLDERS:
        return None
    if names is not None:
        if not isinstance(value, int) or not 0 <= value < len(names):
            raise HubRowError(f"label {value!r} is not an index of the label names {names}")
        return names[value]
    return str(value)


@dataclass(frozen=True)
class ClassificationColumns:
    """Sentence(-pair) classification: ``label`` is a ClassLabel or a string of label names;
    ``label_map`` respells the hub's names as the registry's (GLUE QQP ``duplicate`` -> "1")."""

    text_a: str
    text_b: str | None = None
    label: str = "label"
    id: str | None = None
    label_map: dict[str, str] | None = None

    def columns(self) -> list[str]:
        return [c for c in (self.text_a, self.text_b, self.label, self.id) if c]

    def label_columns(self) -> list[str]:
        return [self.label]

    def record(self, row: dict, i: int, names: dict) -> dict | None:
        label = _name(row[self.label], names.get(self.label))
        if label is None:
            return None
        if self.label_map is not None:
            if label not in self.label_map:
                raise HubRowError(f"label {label!r} not in label_map {self.label_map}")
            label = self.label_map[label]
        return {
            "id": str(row[self.id]) if self.id else str(i),
            "text_a": row[self.text_a],
            "text_b": row[self.text_b] if self.text_b else "",
            "label": label,
        }


@dataclass(frozen=True)
class TaggingColumns:
    """Token tagging: ``tags`` is a sequence of ClassLabel indices (or of tag strings).
    ``tag_names`` is the order of integer tags stored without ClassLabel names (a copy whose
    README has no ``dataset_info``), taken from a declared source; an index outside it is an
    error naming the row."""

    tokens: str = "tokens"
    tags: str = "tags"
    tag_names: tuple[str, ...] | None = None

    def columns(self) -> list[str]:
        return [self.tokens, self.tags]

    def label_columns(self) -> list[str]:
        return [self.tags]

    def record(self, row: dict, i: int, names: dict) -> dict | None:
        tokens, tags = row[self.tokens], row[self.tags]
        if not tags:
            return None
        tags = [_name(t, names.get(self.tags)) for t in tags]
        if None in tags or len(tags) != len(tokens):
            raise HubRowError(f"{len(tokens)} tokens but tags {tags}")
        return {"id": str(i), "tokens": list(tokens), "tags": tags}


@dataclass(frozen=True)
class SpanQAColumns:
    """Extractive QA: ``answers`` is the struct of lists ``{text: [...], answer_start: [...]}``.
    ``stripped``: the copy's context, question and answer texts are ``.strip()``ped with
    ``answer_start`` not shifted (google/xtreme's conversion; docs/hub.md)."""

    id: str = "id"
    title: str | None = "title"  # XQuAD has none
    context: str = "context"
    question: str = "question"
    answers: str = "answers"
    stripped: bool = False

    def columns(self) -> list[str]:
        return [c for c in (self.id, self.title, self.context, self.question, self.answers) if c]

    def label_columns(self) -> list[str]:
        return []

    def record(self, row: dict, i: int, names: dict) -> dict | None:
        answers = row[self.answers]
        return {
            "id": str(row[self.id]),
            "title": row[self.title] if self.title else "",
            "context": row[self.context],
            "question": row[self.question],
            "answers": {
                "text": list(answers["text"]),
                "answer_start": [int(a) for a in answers["answer_start"]],
            },
        }


LABEL_KINDS = ("index", "index_string", "one_based_string", "choice_key", "choice_column")


@dataclass(frozen=True)
class MultipleChoiceColumns:
    """Multiple choice. ``choices`` is one list column, or a struct of lists (``{label, text}``,
    CommonsenseQA: ``choice_text`` names the text field), or ``choice_columns`` one column per
    choice. ``label_kind`` says what the label holds: the 0-based index (``index``; as a string,
    ``index_string``; 1-based string, ``one_based_string``), the key of the choice in the struct's
    ``label`` list (``choice_key``), or a ClassLabel whose names are the choice columns
    (``choice_column``, COPA). ``context_template`` builds the first segment from the row's
    columns, the question left empty (XTREME-R's COPA and SIQa inputs: ``run_xcopa.py``)."""

    label: str
    label_kind: str
    choices: str | None = None
    choice_columns: tuple[str, ...] = ()
    choice_text: str | None = None
    context: str | None = None
    question: str | None = None
    id: str | None = None
    context_template: str | None = None

    def __post_init__(self):
        if self.label_kind not in LABEL_KINDS:
            raise ValueError(f"label_kind {self.label_kind!r}: expected one of {LABEL_KINDS}")
        if bool(self.choices) == bool(self.choice_columns):
            raise ValueError("name either a choices column or choice_columns")
        if self.context_template and (self.context or self.question):
            raise ValueError("a context_template replaces the context and question columns")

    def _template_columns(self) -> list[str]:
        fields = string.Formatter().parse(self.context_template or "")
        return [name for _, name, _, _ in fields if name]

    def columns(self) -> list[str]:
        named = (self.label, self.choices, self.context, self.question, self.id)
        return [c for c in named if c] + list(self.choice_columns) + self._template_columns()

    def label_columns(self) -> list[str]:
        return [self.label]

    def record(self, row: dict, i: int, names: dict) -> dict | None:
        if self.choice_columns:
            choices = [row[c] for c in self.choice_columns]
        elif self.choice_text:
            choices = list(row[self.choices][self.choice_text])
        else:
            choices = list(row[self.choices])
        value = row[self.label]
        if value in PLACEHOLDERS:
            label = -1
        elif self.label_kind == "choice_key":
            keys = list(row[self.choices]["label"])
            if value not in keys:
                raise HubRowError(f"answer key {value!r} is none of the choice keys {keys}")
            label = keys.index(value)
        elif self.label_kind == "choice_column":
            name = _name(value, names.get(self.label))
            if name not in self.choice_columns:
                raise HubRowError(
                    f"answer {name!r} is none of the choice columns {self.choice_columns}"
                )
            label = list(self.choice_columns).index(name)
        else:
            label = int(value) - (self.label_kind == "one_based_string")
        if not -1 <= label < len(choices):
            raise HubRowError(f"label {value!r} outside the {len(choices)} choices")
        if self.context_template:
            context = self.context_template.format(**row)
        else:
            context = row[self.context] if self.context else ""
        return {
            "id": str(row[self.id]) if self.id else str(i),
            "context": context,
            "question": row[self.question] if self.question else "",
            "choices": choices,
            "label": label,
        }


@dataclass(frozen=True)
class RetrievalColumns:
    """Parallel sentences (Tatoeba): ``source`` is the non-English side. The hub copy keeps each
    line's trailing newline; it is removed."""

    source: str = "source_sentence"
    target: str = "target_sentence"

    def columns(self) -> list[str]:
        return [self.source, self.target]

    def label_columns(self) -> list[str]:
        return []

    def record(self, row: dict, i: int, names: dict) -> dict | None:
        return {
            "id": str(i),
            "source": row[self.source].rstrip("\r\n"),
            "target": row[self.target].rstrip("\r\n"),
        }


@dataclass(frozen=True)
class DualEncoderColumns:
    """SQuAD v1.1 rows as LAReQA's training pairs (``xstilts.loaders.lareqa.squad_pair`` on each
    question's first answer); a question whose answer starts in no sentence gives None, as
    XTREME-R skips it (the source declares those splits ``unlabelled``: dropped, counted)."""

    id: str = "id"
    context: str = "context"
    question: str = "question"
    answers: str = "answers"

    def columns(self) -> list[str]:
        return [self.id, self.context, self.question, self.answers]

    def label_columns(self) -> list[str]:
        return []

    def record(self, row: dict, i: int, names: dict) -> dict | None:
        from xstilts.loaders.lareqa import squad_pair

        starts = row[self.answers]["answer_start"]
        if not starts:
            raise HubRowError("no answer (a LAReQA training pair needs one)")
        return squad_pair(str(row[self.id]), row[self.question], row[self.context], starts[0])


COLUMNS = {
    "classification": ClassificationColumns,
    "tagging": TaggingColumns,
    "span_qa": SpanQAColumns,
    "multiple_choice": MultipleChoiceColumns,
    "retrieval": RetrievalColumns,
    "dual_encoder": DualEncoderColumns,
}
"""Format name -> the spec of its hub columns."""
