"""Shared file helpers: existence checks, line/JSON/CSV iteration with line-numbered errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from xstilts.loaders.errors import DataFormatError


def check_file(path: str | Path, expected: str) -> Path:
    """Return ``path`` as a Path, raising DataFormatError if it is not an existing file."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: file not found (expected {expected})")
    return path


def fail(path: Path, lineno: int, expected: str, found: object) -> DataFormatError:
    """Build the standard 'path:line: expected X, found Y' error (found is cut to 200 chars)."""
    shown = repr(found)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    return DataFormatError(f"{path}:{lineno}: expected {expected}, found {shown}")


BOM = "\ufeff"


def _no_bom(path: Path, first_line: str) -> None:
    """A byte-order mark would end up in the first record's text: an error naming the file."""
    if first_line.startswith(BOM):
        raise DataFormatError(
            f"{path}:1: starts with a UTF-8 byte-order mark (BOM); expected UTF-8 text without "
            "one (save the file as plain UTF-8, or strip its first 3 bytes)"
        )


@contextmanager
def at_line(path: Path, lineno: int, expected: str) -> Iterator[None]:
    """Turn KeyError/TypeError/ValueError raised while building a record into a DataFormatError."""
    try:
        yield
    except DataFormatError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise fail(path, lineno, expected, f"{type(exc).__name__}: {exc}") from exc


def iter_lines(path: str | Path, expected: str) -> Iterator[tuple[int, str]]:
    """Yield ``(1-based line number, line)`` with the line ending (LF or CRLF) removed."""
    path = check_file(path, expected)
    with path.open(encoding="utf-8", newline="") as f:
        for lineno, line in enumerate(f, start=1):
            if lineno == 1:
                _no_bom(path, line)
            yield lineno, line.rstrip("\r\n")


def iter_tsv(path: str | Path, expected: str, n_fields: int) -> Iterator[tuple[int, list[str]]]:
    """Yield non-blank lines of a header-less, unquoted TSV as lists of exactly ``n_fields``."""
    for lineno, line in iter_lines(path, expected):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != n_fields:
            raise fail(Path(path), lineno, f"{n_fields} tab-separated fields", line)
        yield lineno, fields


def iter_tsv_with_header(
    path: str | Path, expected: str, required: Sequence[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield rows of an unquoted TSV with a header line as dicts; checks columns and widths."""
    header: list[str] | None = None
    for lineno, line in iter_lines(path, expected):
        fields = line.split("\t")
        if header is None:
            missing = [c for c in required if c not in fields]
            if missing:
                raise fail(Path(path), lineno, f"header with columns {list(required)}", line)
            header = fields
        elif line:
            if len(fields) != len(header):
                raise fail(Path(path), lineno, f"{len(header)} tab-separated fields", line)
            yield lineno, dict(zip(header, fields, strict=True))
    if header is None:
        raise fail(Path(path), 1, f"header with columns {list(required)}", "empty file")


def iter_csv(
    path: str | Path, expected: str, required: Sequence[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield rows of a quoted CSV with a header as dicts, keyed by the line where each row ends."""
    path = check_file(path, expected)
    with path.open(encoding="utf-8", newline="") as f:
        _no_bom(path, f.read(1))
        f.seek(0)
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or any(c not in header for c in required):
            raise fail(path, 1, f"CSV header with columns {list(required)}", header)
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise fail(path, reader.line_num, f"{len(header)} CSV fields", row)
            yield reader.line_num, dict(zip(header, row, strict=True))


def iter_jsonl(path: str | Path, expected: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, JSON object)`` for each non-blank line of a JSONL file."""
    for lineno, line in iter_lines(path, expected):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise fail(Path(path), lineno, "a JSON object", line[:200]) from exc
        if not isinstance(obj, dict):
            raise fail(Path(path), lineno, "a JSON object", obj)
        yield lineno, obj


def load_json(path: str | Path, expected: str) -> Any:
    """Parse a whole JSON file, reporting the line of a syntax error."""
    path = check_file(path, expected)
    with path.open(encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as exc:
            raise fail(path, exc.lineno, "valid JSON", exc.msg) from exc
