"""Deterministic synthetic multilingual data for the embedded demo, one generator per format.

A small artificial "world" of concepts, each rendered as a word in every language: a stem made
of that language's own syllables behind a hyphenated prefix, shared by all languages, that marks
the concept's class (the way cognates and morphology leak across real languages). Labels are
functions of the classes (with language-specific exceptions), so they are learnable from English
and transfer, imperfectly, to other languages: the demo's numbers move above chance without
being trivial. The same seed always yields the same data.
"""

from __future__ import annotations

import hashlib
import random

N_CLASSES = 6
CONCEPTS_PER_CLASS = 40
PREFIXES = ("ka", "ro", "mi", "tu", "se", "lo")
NEGATION = "nai"  # shared negation marker (contradiction cue)
SUPERTAGS = ("N", "N/N", "NP", "S\\NP", "(S\\NP)/NP", "NP/N")  # demo stand-in for CCG
_CONSONANTS = "bcdfghjklmnpqrstvwxz"
_VOWELS = "aeiouy"


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class Lexicon:
    """Surface words of every concept in one language (English included)."""

    def __init__(self, lang: str):
        rng = _rng("lexicon", lang)
        consonants = rng.sample(_CONSONANTS, 8)
        vowels = rng.sample(_VOWELS, 3)
        syllables = [c + v for c in consonants for v in vowels]
        seen: set[str] = set()
        self.words: list[list[str]] = []
        for k in range(N_CLASSES):
            row = []
            for _ in range(CONCEPTS_PER_CLASS):
                stem = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 2)))
                while stem in seen:
                    stem += rng.choice(syllables)
                seen.add(stem)
                row.append(f"{PREFIXES[k]}-{stem}")
            self.words.append(row)

    def word(self, cls: int, concept: int) -> str:
        return self.words[cls][concept]


_LEXICONS: dict[str, Lexicon] = {}


def lexicon(lang: str) -> Lexicon:
    if lang not in _LEXICONS:
        _LEXICONS[lang] = Lexicon(lang)
    return _LEXICONS[lang]


def _concepts(rng: random.Random, n: int, classes: tuple[int, ...]) -> list[tuple[int, int]]:
    return [(rng.choice(classes), rng.randrange(CONCEPTS_PER_CLASS)) for _ in range(n)]


def _render(lang: str, concepts: list[tuple[int, int]]) -> list[str]:
    lex = lexicon(lang)
    return [lex.word(k, c) for k, c in concepts]


def classification(lang: str, n: int, seed: int, labels: tuple[str, ...]) -> list[dict]:
    """Sentence pairs. 3 labels (NLI): entailment copies premise concepts, neutral introduces
    concepts of other classes, contradiction adds the negation marker. 2 labels (paraphrase):
    a shuffled copy vs. a copy with concepts swapped for another class."""
    rng = _rng("classification", lang, seed, len(labels))
    rows = []
    for i in range(n):
        label = rng.randrange(len(labels))
        premise = _concepts(rng, rng.randint(5, 9), (0, 1, 2))
        if len(labels) == 3:
            hyp = rng.sample(premise, rng.randint(2, 4))
            if label == 1:
                hyp = hyp[:1] + _concepts(rng, len(hyp), (3, 4, 5))
            words_b = _render(lang, hyp) + ([NEGATION] if label == 2 else [])
        else:
            hyp = premise[:]
            rng.shuffle(hyp)
            if label == 0:
                for j in rng.sample(range(len(hyp)), 2):
                    hyp[j] = (rng.choice((3, 4, 5)), hyp[j][1])
            words_b = _render(lang, hyp)
        rows.append(
            {
                "id": f"{lang}-{seed}-{i}",
                "text_a": " ".join(_render(lang, premise)),
                "text_b": " ".join(words_b),
                "label": labels[label],
            }
        )
    return rows


def tagging(lang: str, n: int, seed: int, labels: tuple[str, ...]) -> list[dict]:
    """Tagged sentences. With IOB2 labels (NER) classes 0-2 form entity spans of 1-3 words and the
    rest are O; otherwise (POS) each word's tag is a function of its class."""
    rng = _rng("tagging", lang, seed, len(labels))
    entity_types = sorted({tag[2:] for tag in labels if tag[:2] in ("B-", "I-")})
    rows = []
    for i in range(n):
        tokens: list[str] = []
        tags: list[str] = []
        while len(tokens) < rng.randint(6, 14):
            if entity_types and rng.random() < 0.35:
                k = rng.randrange(min(3, len(entity_types)))
                span = _render(lang, _concepts(rng, rng.randint(1, 3), (k,)))
                tokens += span
                tags += [f"B-{entity_types[k]}"] + [f"I-{entity_types[k]}"] * (len(span) - 1)
            elif entity_types:
                tokens += _render(lang, _concepts(rng, 1, (3, 4, 5)))
                tags.append("O")
            else:  # the tag follows the class, but one concept in five is an exception
                ((k, c),) = _concepts(rng, 1, tuple(range(N_CLASSES)))
                tokens += _render(lang, [(k, c)])
                tags.append(labels[(k + (c % 5 == 0)) % len(labels)])
        rows.append({"id": f"{lang}-{seed}-{i}", "tokens": tokens, "tags": tags})
    return rows


def span_qa(lang: str, n: int, seed: int) -> list[dict]:
    """SQuAD-style examples: the context holds one span of each answer class (0-2) among filler;
    the question names a class through one of its words; the answer is that class's span."""
    rng = _rng("span_qa", lang, seed)
    rows = []
    for i in range(n):
        pieces: list[tuple[str, int | None]] = []
        for k in rng.sample((0, 1, 2), 3):
            pieces += [(w, None) for w in _render(lang, _concepts(rng, rng.randint(2, 5), (3, 4)))]
            pieces += [(w, k) for w in _render(lang, _concepts(rng, rng.randint(1, 3), (k,)))]
        pieces += [(w, None) for w in _render(lang, _concepts(rng, rng.randint(1, 4), (3, 4)))]
        asked = rng.randrange(3)
        context, start, answer = "", -1, []
        for w, k in pieces:
            context += (" " if context else "") + w
            if k == asked:
                if start < 0:
                    start = len(context) - len(w)
                answer.append(w)
        question = " ".join(_render(lang, [(5, rng.randrange(CONCEPTS_PER_CLASS)), (asked, 0)]))
        rows.append(
            {
                "id": f"{lang}-{seed}-{i}",
                "title": "synthetic",
                "context": context,
                "question": question + " ?",
                "answers": {"text": [" ".join(answer)], "answer_start": [start]},
            }
        )
    return rows


def multiple_choice(lang: str, n: int, seed: int, n_choices: int) -> list[dict]:
    """A context dominated by one class; the right ending continues that class."""
    rng = _rng("multiple_choice", lang, seed, n_choices)
    rows = []
    for i in range(n):
        k = rng.randrange(N_CLASSES)
        context = _render(lang, _concepts(rng, 5, (k,)))
        others = rng.sample([c for c in range(N_CLASSES) if c != k], n_choices - 1)
        label = rng.randrange(n_choices)
        classes = others[:label] + [k] + others[label:]
        choices = [" ".join(_render(lang, _concepts(rng, 3, (c,)))) for c in classes]
        rows.append(
            {
                "id": f"{lang}-{seed}-{i}",
                "context": " ".join(context),
                "question": "",
                "choices": choices,
                "label": label,
            }
        )
    return rows


def parallel(lang: str, n: int, seed: int, pivot: str = "en") -> list[dict]:
    """Translation pairs: the same concepts rendered in ``lang`` and in ``pivot``."""
    rng = _rng("parallel", lang, seed)
    rows = []
    for i in range(n):
        concepts = _concepts(rng, rng.randint(4, 9), tuple(range(N_CLASSES)))
        rows.append(
            {
                "id": str(i),
                "source": " ".join(_render(lang, concepts)),
                "target": " ".join(_render(pivot, concepts)),
            }
        )
    return rows


def corpus(
    languages: list[str],
    n_per_lang: int,
    seed: int,
    code_switch: float = 0.15,
    sizes: dict[str, int] | None = None,
):
    """Monolingual sentences with some words code-switched from another language: the MLM
    warm-up corpus that gives the demo encoder cross-lingual anchors. ``sizes`` overrides
    ``n_per_lang`` per language (pretraining volumes that differ by language)."""
    rng = _rng("corpus", seed)
    for lang in languages:
        for _ in range((sizes or {}).get(lang, n_per_lang)):
            concepts = _concepts(rng, rng.randint(5, 12), tuple(range(N_CLASSES)))
            words = [
                lexicon(rng.choice(languages) if rng.random() < code_switch else lang).word(k, c)
                for k, c in concepts
            ]
            if rng.random() < 0.1:
                words.append(NEGATION)
            yield " ".join(words)


def bitext(lang: str, n: int, seed: int, pivot: str = "en") -> dict:
    """A BUCC-style comparable corpus: ``n`` translation pairs hidden among as many unrelated
    sentences on each side, with shuffled ids; ``gold`` lists the pairs."""
    rng = _rng("bitext", lang, seed)
    pairs = parallel(lang, n, seed, pivot)
    source = [p["source"] for p in pairs] + [p["source"] for p in parallel(lang, n, seed + 1)]
    target = [p["target"] for p in pairs] + [p["target"] for p in parallel(lang, n, seed + 2)]
    src_ids = rng.sample(range(10 * len(source)), len(source))
    tgt_ids = rng.sample(range(10 * len(target)), len(target))
    return {
        "source": [
            {"id": f"{lang}-{i:06d}", "text": t} for i, t in zip(src_ids, source, strict=True)
        ],
        "target": [
            {"id": f"{pivot}-{i:06d}", "text": t} for i, t in zip(tgt_ids, target, strict=True)
        ],
        "gold": [(f"{lang}-{src_ids[i]:06d}", f"{pivot}-{tgt_ids[i]:06d}") for i in range(n)],
    }


def ranking(
    lang: str, split: str, n: int, seed: int, languages: tuple[str, ...], one_relevant: bool
) -> list[dict]:
    """Retrieval queries (LAReQA, Mewsli-X): query ``j`` names the two key concepts of item
    ``j`` of ``split`` among filler; its candidates (``ranking_candidates``) render the item in
    every language (``one_relevant``: in one language each, as an entity's single description).
    ``candidate`` is the relevant text in ``lang`` (or the one description): the training pair."""
    rows = []
    for j in range(n):
        keys, answer = _item(split, j, seed)
        rng = _rng("ranking-query", lang, split, j, seed)
        filler = _concepts(rng, rng.randint(1, 3), (5,))
        gold_langs = [languages[j % len(languages)]] if one_relevant else list(languages)
        rows.append(
            {
                "id": f"{lang}-{split}{j}",
                "query": " ".join(_render(lang, filler + keys)) + " ?",
                "candidate": " ".join(_render(gold_langs[0] if one_relevant else lang, answer)),
                "gold": [f"{g}-{split}{j}" for g in gold_langs],
            }
        )
    return rows


def ranking_candidates(
    lang: str, splits: dict[str, int], seed: int, languages: tuple[str, ...], one_relevant: bool
) -> list[dict]:
    """The candidates in ``lang``: every item of ``splits`` (name -> number of items)."""
    return [
        {"id": f"{lang}-{split}{j}", "text": " ".join(_render(lang, _item(split, j, seed)[1]))}
        for split, n in splits.items()
        for j in range(n)
        if not one_relevant or languages[j % len(languages)] == lang
    ]


def _item(split: str, j: int, seed: int) -> tuple[list, list]:
    """Item ``j``: two key concepts, and its answer (the keys among other concepts)."""
    rng = _rng("ranking-item", split, j, seed)
    keys = _concepts(rng, 2, (0, 1, 2))
    answer = _concepts(rng, rng.randint(2, 4), (3, 4)) + keys + _concepts(rng, 2, (3, 4))
    return keys, answer
