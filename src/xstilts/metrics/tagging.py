"""Sequence-labelling metrics reproducing seqeval's default (conlleval-compatible) mode.

XTREME and jiant score PAN-X and UD-POS with ``seqeval.metrics.f1_score`` on lists of
sentences, passing raw tags: BIO tags for PAN-X, bare POS tags such as ``NOUN`` for UD-POS.
seqeval joins the sentences into one sequence with an ``O`` after each and reads chunks with
conlleval's start/end rules, each tag read as a prefix (``tag[0]``) and a type. How the type is
read is the scheme, which the task registry names per task (``Task.tag_scheme``):

* ``"iob2"`` (PAN-X): seqeval 1.x, ``type = tag[1:].split("-", 1)[-1] or "_"``, so ``B-PER``
  is ``B``/``PER``. For B-/I-/O tags this is also what seqeval 0.0.12 reads.
* ``"full_tag"`` (UD-POS): seqeval 0.0.12, which XTREME's 2020 scorer and jiant (pinned to it)
  ran: ``type = tag.split("-")[-1]``, the full tag name, so ``CCONJ`` and ``SCONJ`` are distinct
  types (seqeval 1.x would read both as ``CONJ``). Every tag is a span of its own name; as in
  0.0.12, a run of the same tag is one span, except ``SCONJ`` and ``SYM`` (prefix ``S``, a
  single-token chunk in conlleval) whose every token is its own span.

Scores are the micro precision, recall and F1 over exact ``(type, start, end)`` matches, 0 when
undefined.
"""

_OUTSIDE = ("O", ".")
SCHEMES = ("iob2", "full_tag")


def _split_tag(tag: str, scheme: str) -> tuple[str, str]:
    if not tag:
        raise ValueError("empty tag")
    if scheme == "full_tag":
        return tag[0], tag.split("-")[-1]
    return tag[0], tag[1:].split("-", maxsplit=1)[-1] or "_"


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {SCHEMES}")


def _chunk_ends(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return prev_prefix not in _OUTSIDE and prev_type != type_


def _chunk_starts(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    if prefix in ("B", "S"):
        return True
    if prev_prefix in ("E", "S", "O") and prefix in ("E", "I"):
        return True
    return prefix not in _OUTSIDE and prev_type != type_


def get_entities(tags: list[str], scheme: str = "iob2") -> list[tuple[str, int, int]]:
    """Chunks of one tag sequence as ``(type, first, last)`` (inclusive), like seqeval."""
    _check_scheme(scheme)
    prev_prefix, prev_type = "O", ""
    start = 0
    chunks = []
    for i, tag in enumerate([*tags, "O"]):
        prefix, type_ = _split_tag(tag, scheme)
        if _chunk_ends(prev_prefix, prefix, prev_type, type_):
            chunks.append((prev_type, start, i - 1))
        if _chunk_starts(prev_prefix, prefix, prev_type, type_):
            start = i
        prev_prefix, prev_type = prefix, type_
    return chunks


def _flatten(
    predictions: list[list[str]], references: list[list[str]]
) -> tuple[list[str], list[str]]:
    """Check shapes and join sentences with an ``O`` after each, as seqeval does."""
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predicted sentences but {len(references)} reference sentences"
        )
    if not references:
        raise ValueError("cannot score an empty set of sentences")
    flat_pred: list[str] = []
    flat_ref: list[str] = []
    for index, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        if len(pred) != len(ref):
            raise ValueError(
                f"sentence {index}: {len(pred)} predicted tags but {len(ref)} reference tags"
            )
        flat_pred += [*pred, "O"]
        flat_ref += [*ref, "O"]
    return flat_pred, flat_ref


def entity_f1(
    predictions: list[list[str]], references: list[list[str]], scheme: str = "iob2"
) -> dict[str, float]:
    """seqeval default-mode micro ``f1``, ``precision`` and ``recall``, as percentages."""
    flat_pred, flat_ref = _flatten(predictions, references)
    predicted = set(get_entities(flat_pred, scheme))
    gold = set(get_entities(flat_ref, scheme))
    correct = len(predicted & gold)
    precision = correct / len(predicted) if predicted else 0.0
    recall = correct / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": 100.0 * f1, "precision": 100.0 * precision, "recall": 100.0 * recall}


def token_accuracy(predictions: list[list[str]], references: list[list[str]]) -> float:
    """Percentage of tokens whose tag equals the reference tag (seqeval ``accuracy_score``)."""
    _flatten(predictions, references)
    pairs = [
        (p, r)
        for pred, ref in zip(predictions, references, strict=True)
        for p, r in zip(pred, ref, strict=True)
    ]
    if not pairs:
        raise ValueError("cannot compute token accuracy without tokens")
    return 100.0 * sum(p == r for p, r in pairs) / len(pairs)


def repair_iob2(tags: list[str]) -> list[str]:
    """Turn every ``I-X`` not preceded by ``B-X`` or ``I-X`` into ``B-X`` (IOB2 repair)."""
    repaired: list[str] = []
    prev = "O"
    for tag in tags:
        if tag.startswith("I-") and prev not in ("B-" + tag[2:], tag):
            tag = "B-" + tag[2:]
        repaired.append(tag)
        prev = tag
    return repaired
