"""CoNLL-U files (Universal Dependencies) as POS-tagging records.

Records: ``{"id": f"{file stem}-{sentence index}", "tokens": [FORM...], "tags": [UPOS...]}``.
Comments and empty nodes (``8.1``) are skipped. A multiword token (range line ``1-2``: German
"zum" = "zu" + "dem") is read one of two ways (``MULTIWORD``):

* ``fused`` (XTREME's reading): one token with the range line's surface form, tagged with the
  UPOS of the span's head, as google-research/xtreme's ``scripts/download_data.sh`` prepares
  UD-POS (``third_party/ud-conversion-tools/conllu_to_conll.py --lang <file prefix>
  --replace_subtokens_with_fused_forms --print_fused_forms``; ``lib/conll.py``
  ``_keep_fused_form`` and ``_choose_spanhead_from_heuristics``). The head is the subtoken with
  the fewest ancestors in the sentence's graph (HEAD plus the integer heads of DEPS); on a tie,
  the first of the tied subtokens whose UPOS ranks best in the language's precedence list
  (``PRECEDENCE``, chosen by the file name's language prefix, as the script's ``--lang``). A tie
  with a UPOS outside that list is an error, as it stops XTREME's conversion.
* ``subtokens``: the syntactic words of the range, each with its own UPOS (the range line skipped:
  the datasets library's ``xtreme.py`` builder reads it so, and so does the hub's ``udpos.*``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xstilts.loaders._io import fail, iter_lines

N_COLUMNS = 10
MULTIWORD = ("fused", "subtokens")

# conllu_to_conll.py's POSRANKPRECEDENCEDICT: "default" for every language without its own list
PRECEDENCE = {
    "default": tuple(
        "VERB NOUN PROPN PRON ADJ NUM ADV INTJ AUX ADP DET PART CCONJ SCONJ X PUNCT".split()
    ),
    "es": tuple("VERB AUX PRON ADP DET".split()),
    "fr": tuple("VERB AUX PRON NOUN ADJ ADV ADP DET PART SCONJ CONJ".split()),
    "it": tuple("VERB AUX ADV PRON ADP DET INTJ".split()),
}


def _head_id(value: str) -> int | None:
    """A HEAD value as the conversion reads it: an integer, or None for ``_``."""
    return None if value == "_" else int(value)


def _deps_heads(value: str) -> list[int]:
    """The integer heads of a DEPS value (``4:nsubj|8.1:obj``: 4; empty-node heads dropped)."""
    if value == "_":
        return []
    return [
        int(head) for head, *_ in (pair.split(":") for pair in value.split("|")) if head.isdigit()
    ]


def _ancestors(parents: dict, node: int) -> set:
    """Every node with a path to ``node`` (``node`` itself excluded, even on a cycle)."""
    seen: set = set()
    stack = list(parents.get(node, ()))
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(parents.get(n, ()))
    seen.discard(node)
    return seen


def span_head(span: list[int], parents: dict, upos: dict, precedence: tuple[str, ...]) -> int:
    """The head of a multiword span (``_choose_spanhead_from_heuristics``): the one subtoken
    with the fewest ancestors, else the first of those tied whose UPOS ranks best; raises
    ``ValueError`` for a tied UPOS outside ``precedence``."""
    depth = [len(_ancestors(parents, x)) for x in span]
    highest = [x for x, d in zip(span, depth, strict=True) if d == min(depth)]
    if len(highest) == 1:
        return highest[0]
    for x in highest:
        if upos[x] not in precedence:
            raise ValueError(
                f"subtokens {highest} tie as the span's head and UPOS {upos[x]!r} is not in the "
                f"precedence list {' '.join(precedence)} (XTREME's conversion fails here too)"
            )
    return min(highest, key=lambda x: precedence.index(upos[x]))


def load_conllu(path: str | Path, multiword: str = "fused") -> list[dict[str, Any]]:
    """Read CoNLL-U as tagging records, multiword tokens read as ``multiword`` says."""
    if multiword not in MULTIWORD:
        raise ValueError(f"multiword={multiword!r}: expected one of {', '.join(MULTIWORD)}")
    path = Path(path)
    precedence = PRECEDENCE.get(path.name.split("_")[0], PRECEDENCE["default"])
    records: list[dict[str, Any]] = []
    words: dict[int, tuple[str, str]] = {}  # id -> (FORM, UPOS)
    parents: dict[int, set] = {}
    ranges: list[tuple[int, int, str, int]] = []  # (start, end, FORM, line number)

    def flush() -> None:
        if not words:
            return
        tokens, tags, skip = [], [], set()
        fused = {}
        if multiword == "fused":
            upos = {i: tag for i, (_, tag) in words.items()}
            for start, end, form, lineno in ranges:
                span = list(range(start, end + 1))
                if any(i not in words for i in span):
                    raise fail(path, lineno, f"words {start} to {end} in the sentence", "missing")
                try:
                    head = span_head(span, parents, upos, precedence)
                except ValueError as e:
                    raise fail(
                        path, lineno, "a multiword token whose head XTREME can choose", str(e)
                    ) from None
                fused[start] = (form, upos[head])
                skip.update(span[1:])
        for i in sorted(words):
            if i in skip:
                continue
            form, tag = fused.get(i, words[i])
            tokens.append(form)
            tags.append(tag)
        records.append({"id": f"{path.stem}-{len(records)}", "tokens": tokens, "tags": tags})
        words.clear()
        parents.clear()
        ranges.clear()

    for lineno, line in iter_lines(path, "CoNLL-U file"):
        if not line.strip():
            flush()
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != N_COLUMNS:
            raise fail(path, lineno, f"{N_COLUMNS} tab-separated CoNLL-U columns", line)
        token_id = fields[0]
        if "." in token_id:
            continue
        if "-" in token_id:
            start, _, end = token_id.partition("-")
            if not (start.isdigit() and end.isdigit() and int(start) < int(end)):
                raise fail(path, lineno, "a multiword range START-END", token_id)
            ranges.append((int(start), int(end), fields[1], lineno))
            continue
        if not token_id.isdigit():
            raise fail(path, lineno, "an integer token ID", token_id)
        try:
            heads = {_head_id(fields[6]), *_deps_heads(fields[8])}
        except ValueError:
            found = f"{fields[6]} / {fields[8]}"
            raise fail(path, lineno, "integer HEAD and DEPS heads", found) from None
        words[int(token_id)] = (fields[1], fields[3])
        parents[int(token_id)] = heads
    flush()
    return records
