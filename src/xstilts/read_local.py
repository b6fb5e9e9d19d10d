"""Read a task's original files (the registry's ``local`` patterns, or the config's ``files``)
into canonical records; every problem is an error naming the file."""

from __future__ import annotations

import glob
from pathlib import Path

from xstilts import record_checks
from xstilts.formats import dual_encoder
from xstilts.formats.retrieval import bucc_rows
from xstilts.loaders import LOADERS, TATOEBA_LANG3, DataFormatError, load_bucc, load_tatoeba_pair
from xstilts.splits import SPLITS, parse_split, split_name, wanted_splits


def _patterns(value) -> list[tuple[str | None, str]]:
    """(loader override, glob pattern) pairs of a ``files`` entry: one pattern or a list, each
    optionally prefixed ``loader:`` when a split mixes formats (ANLI+: ANLI, SNLI, MNLI)."""
    out = []
    for item in [value] if isinstance(value, str) else list(value or []):
        loader, sep, pattern = item.partition(":")
        out.append((loader, pattern) if sep and loader in LOADERS else (None, item))
    return out


def _expand(pattern: str, lang: str) -> str:
    return pattern.format(lang=lang, lang3=TATOEBA_LANG3.get(lang, lang))


def _files(root: Path, pattern: str, lang: str) -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(root / _expand(pattern, lang))))


def _read(loader: str, path: Path, lang: str, multiword: str | None = None) -> list[dict]:
    """Rows of one original file; multi-file formats find their siblings from ``path``;
    ``multiword`` is how CoNLL-U multiword tokens are read (the task's, or the config's)."""
    if loader == "conllu" and multiword:
        return LOADERS[loader](path, multiword=multiword)
    if loader == "bucc_pairs":  # {lang}-en.{split}.gold beside .{lang} and .en
        return bucc_rows(load_bucc(path.with_suffix(f".{lang}"), path.with_suffix(".en"), path))
    if loader == "tatoeba_txt":  # tatoeba.{lang3}-eng.{lang3} beside .eng
        return load_tatoeba_pair(path, path.with_suffix(".eng"))
    if loader == "xquad_r":  # candidate ids carry the language
        return LOADERS[loader](path, lang)
    return LOADERS[loader](path)


def split_ranking(rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Retrieval files read as queries and candidates (``kind``): queries stay in their split,
    each language's candidates (of every split) form ``candidates.{lang}``, and each query's
    ``gold`` is every candidate, of any language, that carries one of its ``gold_keys``."""
    out: dict[str, list[dict]] = {}
    pools: dict[str, dict[str, dict]] = {}
    for name, split_rows in rows.items():
        lang = parse_split(name)[1]
        for r in split_rows:
            if r.get("kind") == "candidate":
                pools.setdefault(lang, {})[r["id"]] = r
            else:
                out.setdefault(name, []).append(r)
    by_key: dict[str, list[str]] = {}
    texts = {r["id"]: r["text"] for pool in pools.values() for r in pool.values()}
    for pool in pools.values():
        for r in pool.values():
            for key in r["keys"]:
                by_key.setdefault(key, []).append(r["id"])
    for name, queries in out.items():
        resolved = []
        for q in queries:
            if "gold_keys" not in q:  # training pairs
                resolved.append(q)
                continue
            gold = sorted({c for key in q["gold_keys"] for c in by_key.get(key, [])})
            if not gold:
                raise DataFormatError(f"{name}: query {q['id']!r} has no candidate among the files")
            text = q["candidate"] or texts[gold[0]]  # the pair for checkpoint selection
            resolved.append({"id": q["id"], "query": q["query"], "candidate": text, "gold": gold})
        out[name] = resolved
    for lang, pool in pools.items():
        out[split_name(dual_encoder.CANDIDATES, lang)] = [
            {"id": r["id"], "text": r["text"]} for r in pool.values()
        ]
    return out


def _check_root(task, root: Path) -> None:
    if root.is_dir():
        return
    key = f"data.tasks.{task.name}.root" if task.licence else "data.root"
    extra = f" {task.licence}" if task.licence else ""
    raise DataFormatError(
        f"{root} is not a folder (task {task.name}, source: local); point {key} at the folder "
        f"holding the original files.{extra}"
    )


def _read_checked(
    task, loader: str, path: Path, lang: str, split: str, multiword: str | None = None
) -> list[dict]:
    """Rows of one file; every problem is an error naming the file (and line, row or id)."""
    gold = f" {task.gold}" if split == "test" and task.gold else ""
    try:
        rows = _read(loader, path, lang, multiword)
    except UnicodeDecodeError as e:
        raise _not_utf8(path, e) from None
    except DataFormatError as e:
        raise DataFormatError(f"{e}{gold}") from None
    if not rows:
        raise DataFormatError(f"{path}: no records in the file (task {task.name}, {split}){gold}")
    labels = set(task.labels)
    for i, row in enumerate(rows):
        at = f"{path}: row {i} (id {row.get('id', i)!r})"
        if task.format == "tagging" and labels and not set(row["tags"]) <= labels:
            bad = sorted(set(row["tags"]) - labels)
            raise DataFormatError(
                f"{at}: tag(s) {bad} outside the label set of task {task.name} "
                f"({', '.join(task.labels)})"
            )
        record_checks.check_choice(task, row, at)
        if task.role == "target" and split != "train" and not _local_gold(task, row):
            raise DataFormatError(f"{at}: no gold label or answer in an evaluation file.{gold}")
    return rows


def _not_utf8(path: Path, error: UnicodeDecodeError) -> DataFormatError:
    """The error naming the file, line and byte (a reader's error counts from its buffer)."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        error = e
        line = raw[: e.start].count(b"\n") + 1
        where = f"{path}:{line}"
    else:  # a compressed file: the offset is in its decompressed text
        where = str(path)
    byte = error.object[error.start : error.start + 1]
    return DataFormatError(
        f"{where}: not UTF-8 (byte {byte!r} at offset {error.start}: {error.reason}); "
        "expected UTF-8 text"
    )


def _local_gold(task, row: dict) -> bool:
    if task.format == "classification":
        return row["label"] not in ("", None)
    if task.format == "tagging":
        return bool(row["tags"]) and all(row["tags"])
    if task.format == "span_qa":
        return bool(row["answers"]["text"]) or task.null_answers
    return True


def load_local(task, spec: dict) -> dict[str, list[dict]]:
    """Read the original files named by the registry (or the config's ``files``) under
    ``root``. A split the task needs with no file, or an empty one, is an error naming the
    patterns looked for (splits the registry declares absent are not asked for)."""
    root = Path(spec["root"])
    files = {
        **{k: v for k, v in task.local.items() if k in (*SPLITS, "candidates")},
        **spec.get("files", {}),
    }
    loader = spec.get("loader") or task.local.get("loader")
    if loader not in LOADERS:
        raise DataFormatError(
            f"task {task.name}: data loader {loader!r} unknown (config key "
            f"data.tasks.{task.name}.loader); known loaders: {', '.join(sorted(LOADERS))}"
        )
    _check_root(task, root)
    multiword = spec.get("multiword") or task.multiword
    out = {}
    for split, lang in wanted_splits(task):
        name = split_name(split, lang)
        rows, looked, paths = [], [], []
        for part_loader, pattern in _patterns(files.get(split)):
            if "{lang" not in pattern and lang != "en":
                continue  # a file without a language slot holds English only
            looked.append(str(root / _expand(pattern, lang)))
            for path in _files(root, pattern, lang):
                rows += _read_checked(task, part_loader or loader, path, lang, split, multiword)
                paths.append(path)
        if not rows:
            gold = f" {task.gold}" if split == "test" and task.gold else ""
            raise DataFormatError(
                f"task {task.name}: no {split} file for {lang} (looked for "
                f"{', '.join(looked) or f'nothing: the task names no {split} files'}; set "
                f"data.tasks.{task.name}.files.{split}, or limit the languages).{gold}"
            )
        record_checks.unique_ids(task, name, rows, ", ".join(map(str, paths)))
        out[name] = rows
    if files.get("candidates"):  # one candidate pool for every language (Mewsli-X's entities)
        pool = [
            r
            for part_loader, pattern in _patterns(files["candidates"])
            for path in _files(root, pattern, "all")
            for r in _read(part_loader or loader, path, "all")
        ]
        if not pool:
            raise DataFormatError(f"task {task.name}: no candidates file {files['candidates']}")
        out[split_name(dual_encoder.CANDIDATES, "all")] = pool
    return split_ranking(out) if task.format == "dual_encoder" else out
