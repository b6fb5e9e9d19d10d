"""Prepare a task's data: from the hub, original files, or the synthetic generator, to Arrow.

Every task becomes a ``datasets.DatasetDict`` whose splits are named ``{split}.{lang}``
(``train.en``, ``validation.en``, ``test.de``...) and whose rows follow the task format's
canonical record (see ``xstilts.formats``). The same prepared data serves every model and seed.
Hub data are read from the mirror (``xstilts.hub``), never from the network. Nothing is silently
left out: a split the task needs and does not get is an error naming what is missing and where
it was looked for, unless the registry declares the gap (``Task.gaps``).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
from pathlib import Path

from xstilts import hub, registry, synthetic
from xstilts.formats import dual_encoder
from xstilts.formats.hub import HubRowError
from xstilts.loaders import (
    LOADERS,
    TATOEBA_LANG3,
    DataFormatError,
    load_bucc,
    load_tatoeba_pair,
)
from xstilts.loaders.ccgbank import CCGBANK_HELP
from xstilts.registry import restrict

log = logging.getLogger(__name__)

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


# --- retrieval records ---
def bucc_rows(corpus: dict) -> list[dict]:
    """A BUCC corpus (``source``, ``target``, ``gold`` pairs) as one row per sentence."""
    gold: dict[str, list[str]] = {}
    for src, tgt in corpus["gold"]:
        gold.setdefault(src, []).append(tgt)
    return [
        {"id": s["id"], "text": s["text"], "side": "source", "gold": gold.get(s["id"], [])}
        for s in corpus["source"]
    ] + [{"id": t["id"], "text": t["text"], "side": "target", "gold": []} for t in corpus["target"]]


def bucc_corpus(rows) -> dict:
    """The inverse of :func:`bucc_rows` (sentences keep their ``input_ids`` once tokenised)."""
    rows = list(rows)
    keep = ("id", "text", "input_ids")

    def side(name):
        return [{k: r[k] for k in keep if k in r} for r in rows if r["side"] == name]

    return {
        "source": side("source"),
        "target": side("target"),
        "gold": [(r["id"], g) for r in rows if r["side"] == "source" for g in r["gold"]],
    }


# --- synthetic ---
def _synthetic(task, n: int, lang: str, seed: int) -> list[dict]:
    if task.format == "classification":
        return synthetic.classification(lang, n, seed, task.labels)
    if task.format == "tagging":
        return synthetic.tagging(lang, n, seed, task.labels or synthetic.SUPERTAGS)
    if task.format == "span_qa":
        return synthetic.span_qa(lang, n, seed)
    if task.format == "multiple_choice":
        return synthetic.multiple_choice(lang, n, seed, task.num_labels)
    if task.name == "bucc":
        return bucc_rows(synthetic.bitext(lang, n, seed))
    if task.format == "retrieval":
        return synthetic.parallel(lang, n, seed)
    raise ValueError(f"no synthetic generator for format {task.format!r} (task {task.name})")


def _synthetic_ranking(task, cfg: dict) -> dict[str, list[dict]]:
    """Retrieval queries per (split, language) and, for a target, each language's candidates.
    Mewsli-X has one gold entity per mention, LAReQA the answer in every language."""
    one = task.name == "mewslix"
    out, items = {}, {}
    for split, lang in wanted_splits(task, validation_languages=False):
        n = cfg["train_size"] if split == "train" else cfg["eval_size"]
        rows = synthetic.ranking(lang, split, n, cfg["seed"], task.languages, one)
        out[split_name(split, lang)] = rows
        if split != "train":
            items[split] = n
    if task.role == "target":
        for lang in task.languages:
            pool = synthetic.ranking_candidates(lang, items, cfg["seed"], task.languages, one)
            if pool:
                out[split_name(dual_encoder.CANDIDATES, lang)] = pool
    return out


def load_synthetic(task, spec: dict) -> dict[str, list[dict]]:
    cfg = spec["synthetic"]
    if task.format == "dual_encoder":
        return _synthetic_ranking(task, cfg)
    out = {}
    for i, (split, lang) in enumerate(wanted_splits(task, validation_languages=False)):
        n = cfg["train_size"] if split == "train" else cfg["eval_size"]
        out[split_name(split, lang)] = _synthetic(task, n, lang, cfg["seed"] * 1000 + i)
    return out


# --- original files ---
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
    if loader == "bucc":  # {lang}-en.{split}.gold beside .{lang} and .en
        return bucc_rows(load_bucc(path.with_suffix(f".{lang}"), path.with_suffix(".en"), path))
    if loader == "tatoeba":  # tatoeba.{lang3}-eng.{lang3} beside .eng
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
    key = f"data.tasks.{task.name}.root" if task.name == "ccg" else "data.root"
    extra = f" {CCGBANK_HELP}" if task.name == "ccg" else ""
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
        _check_choice(task, row, at)
        if task.role == "target" and split != "train" and not _local_gold(task, row):
            raise DataFormatError(f"{at}: no gold label or answer in an evaluation file.{gold}")
    return rows


def _check_choice(task, row: dict, at: str) -> None:
    """A multiple-choice label indexes its choices (-1: none), or the record is an error."""
    if task.format != "multiple_choice":
        return
    n = len(row["choices"])
    if not -1 <= row["label"] < n:
        raise DataFormatError(
            f"{at}: label {row['label']} is out of range for its {n} choices (expected 0-{n - 1})"
        )


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


def _unique_ids(task, name: str, rows: list[dict], where: str) -> None:
    """Evaluation matches predictions to examples by id: a repeated id fails here, not later."""
    if task.format != "span_qa" or name.startswith("train"):
        return
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row["id"] in seen:
            raise DataFormatError(
                f"task {task.name} {name}: question id {row['id']!r} repeated (rows "
                f"{seen[row['id']]} and {i} of {where}); expected unique ids"
            )
        seen[row["id"]] = i


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
        _unique_ids(task, name, rows, ", ".join(map(str, paths)))
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


# --- hub (cluster): read from the mirror, laid out as the hub repositories ---
def _has_gold(task, record: dict | None) -> bool:
    """Whether a record carries its gold label or answer (what XTREME's test copies strip)."""
    if record is None:
        return False
    if task.format == "multiple_choice":
        return record["label"] >= 0
    if task.format == "span_qa":
        return bool(record["answers"]["text"]) or task.null_answers
    return True


def _card(folder: Path) -> dict:
    """The YAML header of a repository's README (empty without one)."""
    import yaml

    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    return (yaml.safe_load(text.split("---", 2)[1]) or {}) if text.startswith("---") else {}


def readme_features(folder: Path, config: str):
    """The ``dataset_info`` features the README declares for ``config`` (None: none), which
    ``datasets`` applies when it loads the repository from the hub."""
    import datasets

    infos = _card(folder).get("dataset_info", [])
    for info in [infos] if isinstance(infos, dict) else infos:
        if info.get("config_name", "default") == config and "features" in info:
            return datasets.Features._from_yaml_list(info["features"])
    return None


def readme_configs(folder: Path) -> dict[str, dict[str, list[str]]]:
    """``{config: {split: [path patterns]}}`` from the ``configs:`` block of a repo's README."""
    card = _card(folder)
    out = {}
    for entry in card.get("configs", []):
        files = entry.get("data_files", [])
        if isinstance(files, str | list) and not (files and isinstance(files[0], dict)):
            files = [{"split": "train", "path": files}]
        if isinstance(files, dict):
            files = [{"split": k, "path": v} for k, v in files.items()]
        out[entry["config_name"]] = {
            f["split"]: [f["path"]] if isinstance(f["path"], str) else list(f["path"])
            for f in files
        }
    return out


def _missing(where: str, what: str, looked: Path, present, hint: str = "") -> DataFormatError:
    shown = ", ".join(sorted(present)[:20]) or "nothing"
    return DataFormatError(f"{where}: {what} not found in {looked} (it has: {shown}).{hint}")


_BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv"}


def hub_split(source, lang: str, hub_split_name: str, spec: dict, cache: str):
    """One hub split of ``source`` for ``lang``, read from the mirror with ``datasets`` exactly
    as on the cluster (offline: the mirror folder, its README configs, its parquet files)."""
    import datasets

    revision = spec.get("revisions", {}).get(source.repo, source.revision)
    folder = hub.dataset_dir(spec.get("mirror") or hub.DEFAULT_MIRROR, source.repo, revision)
    config = source.config_name(lang)
    where = f"hub data set {source.repo}@{revision} config {config!r} split {hub_split_name!r}"
    hint = f" Unverified about this repository: {source.unverified}." if source.unverified else ""
    if not folder.is_dir():
        raise DataFormatError(
            f"{where}: the repository is not in the hub mirror (looked for {folder}); run the "
            f"download job, or fill it with `hf download {source.repo} --repo-type dataset "
            f"--revision {revision} --local-dir {folder}`.{hint}"
        )
    script = folder / f"{source.repo.split('/')[1]}.py"
    if script.is_file():
        raise DataFormatError(
            f"{where}: {script} is a loading script, which datasets>=4 no longer runs; read the "
            f"repository's parquet files instead (revision {hub.CONVERT}, or a maintained mirror)"
        )
    if revision == hub.CONVERT:
        files = sorted((folder / config / hub_split_name).glob("*.parquet"))
        if not files:
            if not (folder / config).is_dir():
                present = [p.name for p in folder.iterdir() if p.is_dir()]
                raise _missing(where, f"config folder {config!r}", folder, present, hint)
            present = [p.name for p in (folder / config).iterdir()]
            raise _missing(
                where, f"split folder {hub_split_name!r}", folder / config, present, hint
            )
        files, features = [str(f) for f in files], None
    else:
        configs = readme_configs(folder)
        if config not in configs:
            raise _missing(where, f"config {config!r}", folder / "README.md", configs, hint)
        if hub_split_name not in configs[config]:
            present = configs[config]
            raise _missing(where, f"split {hub_split_name!r}", folder / "README.md", present, hint)
        patterns = configs[config][hub_split_name]
        files = sorted({f for p in patterns for f in glob.glob(str(folder / p), recursive=True)})
        if not files:
            raise DataFormatError(
                f"{where}: no data files match {', '.join(patterns)} in {folder} (the download "
                f"did not fetch them){hint}"
            )
        features = readme_features(folder, config)
    # The split's own files, as the README's configs block lists them: load_dataset(folder,
    # config) would resolve every config of the card and fail on a mirror holding only some.
    suffixes = Path(files[0]).suffixes
    builder = next((b for suffix, b in _BUILDERS.items() if suffix in suffixes), None)
    if builder is None:
        raise DataFormatError(f"{where}: no reader for {files[0]} (expected parquet, JSON, CSV)")
    try:
        ds = datasets.load_dataset(
            builder,
            data_files={hub_split_name: files},
            split=hub_split_name,
            features=features,
            cache_dir=cache,
        )
    except (datasets.exceptions.DatasetsError, ValueError, OSError) as e:
        cause = f"{type(e).__name__}: {e}" + (f": {e.__cause__}" if e.__cause__ else "")
        raise DataFormatError(f"{where}: datasets cannot read {folder}: {cause}{hint}") from e
    absent = [c for c in source.columns.columns() if c not in ds.column_names]
    if absent:
        raise DataFormatError(
            f"{where}: column(s) {absent} missing (it has {ds.column_names}; read from {folder})"
        )
    shown = [str(Path(f).relative_to(folder)) for f in files[:3]]
    more = f" and {len(files) - 3} more" if len(files) > 3 else ""
    return ds, f"{where}, file {', '.join(shown)}{more}"


def _label_names(task, source, ds, where: str) -> dict[str, list[str]]:
    """ClassLabel names of the label columns, checked against the registry's label set."""
    names = {}
    for column in source.columns.label_columns():
        feature = ds.features[column]
        feature = getattr(feature, "feature", feature)  # Sequence(ClassLabel) / List(ClassLabel)
        declared = getattr(source.columns, "tag_names", None)
        if hasattr(feature, "names"):
            names[column] = list(feature.names)
        elif declared and "int" in str(feature):  # integer tags in a declared order
            names[column] = list(declared)
        elif task.format in ("classification", "tagging") and "int" in str(feature):
            raise DataFormatError(
                f"{where}: column {column!r} holds integers ({feature}) without ClassLabel names, "
                f"so they cannot be mapped to task {task.name}'s labels by name (parquet written "
                f"without the 'huggingface' schema metadata?)"
            )
    label_map = getattr(source.columns, "label_map", None)
    if task.format in ("classification", "tagging") and task.labels:
        for column, found in names.items():
            spelled = {label_map.get(n, n) for n in found} if label_map else set(found)
            if spelled != set(task.labels):
                raise DataFormatError(
                    f"{where}: column {column!r} has ClassLabel names {found}; task {task.name} "
                    f"expects the labels {list(task.labels)}"
                )
    return names


def load_hub(task, spec: dict, dropped: dict | None = None) -> dict[str, list[dict]]:
    """Read a task's hub sources (registry ``hub``) from the mirror; no split falls back to
    another, and a placeholder label outside the splits the registry marks unlabelled is an
    error naming task, split and row (in those splits the row is dropped and counted in
    ``dropped``)."""
    import tempfile

    if not task.hub:
        raise DataFormatError(
            f"task {task.name} has no hub source (the hub copy lacks what its metric needs, or "
            f"the data is licensed); set data.tasks.{task.name}.source to local and its root"
        )
    out: dict[str, list[dict]] = {}
    dropped = {} if dropped is None else dropped
    with tempfile.TemporaryDirectory(prefix="xstilts-hub-cache-") as cache:
        for split, lang in wanted_splits(task):
            for source in hub.sources_for(task.hub, lang):
                if split not in source.splits:
                    continue
                name = split_name(split, lang)
                ds, where = hub_split(source, lang, source.splits[split], spec, cache)
                names = _label_names(task, source, ds, where)
                prefix = source.id_prefix.get(lang) if source.id_prefix else None
                if source.id_prefix and prefix is None:
                    raise DataFormatError(f"{where}: no id prefix declared for language {lang}")
                rows = out.setdefault(name, [])
                for i, row in enumerate(ds):
                    if prefix and not row[source.columns.id].startswith(prefix):
                        continue
                    at = f"task {task.name} split {name} ({where}) row {i}"
                    try:
                        record = source.columns.record(row, i, names)
                    except HubRowError as e:
                        raise DataFormatError(f"{at}: {e}") from None
                    _check_choice(task, record, at)
                    if _has_gold(task, record):
                        rows.append(record)
                    elif source.splits[split] in source.unlabelled:
                        dropped[name] = dropped.get(name, 0) + 1
                    else:
                        raise DataFormatError(
                            f"{at}: no gold label or answer (a placeholder label is accepted only "
                            f"in the splits the registry marks unlabelled: "
                            f"{list(source.unlabelled) or 'none for this source'}). "
                            f"{task.gold or 'Labelled data come from the original files.'}"
                        )
                if not rows:
                    raise DataFormatError(f"{where}: no rows for {name} (task {task.name})")
                _unique_ids(task, name, rows, where)
    unserved = [split_name(*s) for s in wanted_splits(task) if split_name(*s) not in out]
    if unserved:
        raise DataFormatError(
            f"task {task.name}: no hub source serves {', '.join(unserved)} (sources: "
            f"{', '.join(f'{s.repo} {s.config}' for s in task.hub)}); declare the gap in the "
            f"registry, or set data.tasks.{task.name}.source to local"
        )
    for name, n in dropped.items():
        log.info(
            "task %s %s: dropped %d rows without gold (declared in the registry)",
            task.name,
            name,
            n,
        )
    return out


LOADERS_BY_SOURCE = {"synthetic": load_synthetic, "local": load_local, "hub": load_hub}


def _encode_labels(task, rows: list[dict], where: str) -> list[dict]:
    if task.format != "classification":
        return rows
    index = {name: i for i, name in enumerate(task.labels)}
    out = []
    for row in rows:
        if row["label"] not in index:
            raise DataFormatError(
                f"{where}: row {row['id']!r} has label {row['label']!r}; "
                f"task {task.name} expects one of {list(task.labels)}"
            )
        out.append({**row, "label": index[row["label"]]})
    return out


LABELS_FILE = "labels.json"


def resolve(task_name: str, folder: Path):
    """The task, with its label inventory read from prepared data when the registry has none
    (CCG supertags are whatever the training data holds)."""
    task = registry.get(task_name)
    labels = Path(folder) / LABELS_FILE
    if task.labels or not labels.is_file():
        return task
    return dataclasses.replace(task, labels=tuple(json.loads(labels.read_text())))


def _tag_inventory(rows: dict[str, list[dict]]) -> list[str]:
    tags = {
        t
        for name, split in rows.items()
        if name.startswith("train")
        for r in split
        for t in r["tags"]
    }
    return sorted(tags)


def prepare(task_name: str, spec: dict, out_dir: Path) -> dict:
    """Load ``task_name`` from ``spec['source']`` and save it to ``out_dir``; returns a summary.
    ``spec['languages']`` (the config's benchmark's set) replaces the registry's languages."""
    import datasets

    task = restrict(registry.get(task_name), spec.get("languages"), spec["source"] == "local")
    dropped: dict[str, int] = {}
    if spec["source"] == "hub":
        rows = load_hub(task, spec, dropped)
    else:
        rows = LOADERS_BY_SOURCE[spec["source"]](task, spec)
    cap = spec.get("max_eval_examples")
    dd = datasets.DatasetDict()
    for name, split_rows in rows.items():
        if cap and not name.startswith("train"):
            split_rows = split_rows[:cap]
        dd[name] = datasets.Dataset.from_list(
            _encode_labels(task, split_rows, f"task {task_name} split {name}")
        )
    dd.save_to_disk(str(out_dir))
    if task.format == "tagging" and not task.labels:
        (Path(out_dir) / LABELS_FILE).write_text(json.dumps(_tag_inventory(rows)))
    return {
        "task": task_name,
        "source": spec["source"],
        "rows": {name: len(ds) for name, ds in dd.items()},
        "fingerprints": {name: ds._fingerprint for name, ds in dd.items()},
        "splits_missing": sorted(
            {split_name(*s) for s in wanted_splits(task, spec["source"] != "synthetic")} - set(dd)
        ),
        "splits_declared_absent": declared_gaps(task),
        "unlabelled_rows_dropped": dropped,
        "languages": list(task.languages),
    }
