"""Read a task's hub sources from the mirror (laid out as the hub repositories, see
``xstilts.hub``), with ``datasets`` exactly as on the cluster, into canonical records."""

from __future__ import annotations

import glob
import logging
from pathlib import Path

from xstilts import hub, record_checks
from xstilts.formats.columns import HubRowError
from xstilts.loaders import DataFormatError
from xstilts.splits import split_name, wanted_splits

log = logging.getLogger(__name__)


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
                    record_checks.check_choice(task, record, at)
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
                record_checks.unique_ids(task, name, rows, where)
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
