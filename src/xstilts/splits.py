"""The split vocabulary: prepared splits are named ``{split}.{lang}`` (``train.en``,
``validation.de``, ``candidates.all``...); which ones a task provides, and which the registry
declares absent. Stdlib only: the Snakefile plans with it."""

from __future__ import annotations

SPLITS = ("train", "validation", "test")


def split_name(split: str, lang: str) -> str:
    return f"{split}.{lang}"


def parse_split(name: str) -> tuple[str, str]:
    split, _, lang = name.partition(".")
    return split, lang


def wanted_splits(task, validation_languages: bool = True) -> list[tuple[str, str]]:
    """(split, language) pairs a task provides: English train where it is trained, English
    validation (checkpoint selection; none for a target without English), and for a target
    validation and test in every language (synthetic data skips the non-English validation
    splits: ``validation_languages=False``)."""
    if task.format == "retrieval":  # no training; BUCC's dev set tunes its threshold
        splits = [s for s in ("validation", "test") if s in task.local]
        return [(s, lang) for s in splits for lang in task.languages]
    out = []
    if task.role == "intermediate":  # English, or every language of a translated variant
        out += [("train", lang) for lang in task.languages]
    elif task.train_task == task.name:
        out.append(("train", "en"))
    if task.role == "intermediate" or "en" in task.languages:  # XCOPA: selected on COPA's
        out.append(("validation", "en"))
    if task.role == "target":
        if validation_languages:
            out += [("validation", lang) for lang in task.languages if lang != "en"]
        out += [("test", lang) for lang in task.languages]
    return [(split, lang) for split, lang in out if not task.declared_gap(split, lang)]


def declared_gaps(task) -> dict[str, str]:
    """``{split.lang: reason}`` of the splits the registry declares absent."""
    return {
        split_name(split, lang): reason
        for split in SPLITS
        for lang in task.languages
        if (reason := task.declared_gap(split, lang))
    }
