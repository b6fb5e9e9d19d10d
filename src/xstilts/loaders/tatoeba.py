"""Tatoeba similarity-search test files as used by XTREME (LASER v1 ``tatoeba.xxx-eng.{xxx,eng}``).

Records: ``{"id": str(line index), "source": xx sentence, "target": English sentence}``.
"""

from __future__ import annotations

from pathlib import Path

from xstilts.loaders._io import iter_lines
from xstilts.loaders.errors import DataFormatError

TATOEBA_LANG3: dict[str, str] = {
    "af": "afr",
    "ar": "ara",
    "bg": "bul",
    "bn": "ben",
    "de": "deu",
    "el": "ell",
    "es": "spa",
    "et": "est",
    "eu": "eus",
    "fa": "pes",
    "fi": "fin",
    "fr": "fra",
    "he": "heb",
    "hi": "hin",
    "hu": "hun",
    "id": "ind",
    "it": "ita",
    "ja": "jpn",
    "jv": "jav",
    "ka": "kat",
    "kk": "kaz",
    "ko": "kor",
    "ml": "mal",
    "mr": "mar",
    "nl": "nld",
    "pt": "por",
    "ru": "rus",
    "sw": "swh",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "tl": "tgl",
    "tr": "tur",
    "ur": "urd",
    "vi": "vie",
    "zh": "cmn",
    # XTREME-R's extra languages
    "az": "aze",
    "lt": "lit",
    "pl": "pol",
    "uk": "ukr",
    "ro": "ron",
}
"""XTREME(-R) 2-letter Tatoeba language code -> 3-letter LASER file code (36 + 5 languages)."""


def load_tatoeba_pair(source_path: str | Path, english_path: str | Path) -> list[dict[str, str]]:
    """Read line-aligned files: line i of ``source_path`` translates line i of ``english_path``."""
    source = [line for _, line in iter_lines(source_path, "Tatoeba non-English side")]
    english = [line for _, line in iter_lines(english_path, "Tatoeba English side")]
    if len(source) != len(english):
        raise DataFormatError(
            f"line counts differ: {source_path} has {len(source)} lines,"
            f" {english_path} has {len(english)}"
        )
    return [
        {"id": str(i), "source": src, "target": eng}
        for i, (src, eng) in enumerate(zip(source, english, strict=True))
    ]


def load_tatoeba(data_dir: str | Path, language: str) -> list[dict[str, str]]:
    """Read ``tatoeba.<xxx>-eng.{<xxx>,eng}`` from ``data_dir``; ``language`` is 2- or 3-letter."""
    lang3 = TATOEBA_LANG3.get(language, language)
    if lang3 not in TATOEBA_LANG3.values():
        raise ValueError(f"unknown Tatoeba language {language!r}")
    data_dir = Path(data_dir)
    return load_tatoeba_pair(
        data_dir / f"tatoeba.{lang3}-eng.{lang3}", data_dir / f"tatoeba.{lang3}-eng.eng"
    )
