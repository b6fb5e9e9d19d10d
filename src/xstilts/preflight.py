"""``xstilts preflight``: everything the grid needs, checked on the login node before submitting.

Every model, data set, config, split, column and label set the grid reads from the hub is checked
in the mirror (or, for a snapshot not downloaded yet, on the hub when it can be reached), the
model's own configuration against the config's values (attention heads, positions, retrieval
layer), and the local-only data (CCGbank, BUCC) on disk. Every problem is reported at once, with
its fix, and the disk the mirror takes; on a GPU node, whether its NVIDIA driver runs torch's
CUDA build; the exit status is non-zero if there is any problem.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from xstilts import download, driver, registry
from xstilts.errors import ConfigError

ROWS_CHECKED = 200  # rows per split read to tell a labelled split from a stripped one


@dataclass
class Problem:
    what: str
    fix: str = ""


@dataclass
class Report:
    problems: list[Problem]
    warnings: list[str] = field(default_factory=list)  # comparability notes (exit status 0)
    present_bytes: int = 0
    missing_bytes: int = 0
    unknown: int = 0  # snapshots whose size is unknown (absent and the hub unreachable)
    snapshots: int = 0
    gpu: str | None = None  # on a GPU node: the driver and torch's CUDA build, and whether they fit
    retrieval: tuple[str, ...] = ()  # per model: the layer and pooling retrieval uses

    def text(self, source: str, mirror: str) -> str:
        lines = [f"preflight {source}: {len(self.problems) or 'no'} problem(s)"]
        for i, p in enumerate(self.problems, 1):
            lines.append(f"  {i}. {p.what}")
            if p.fix:
                lines.append(f"     fix: {p.fix}")
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += self.retrieval
        size = f"{_gb(self.present_bytes)} present, {_gb(self.missing_bytes)} to download"
        unknown = f", {self.unknown} of unknown size" if self.unknown else ""
        lines.append(
            f"mirror {mirror}: {self.snapshots} snapshot(s), "
            f"{_gb(self.present_bytes + self.missing_bytes)} in all ({size}{unknown})"
        )
        if self.gpu:
            lines.append(f"gpu: {self.gpu}")
        return "\n".join(lines)


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def preflight(config_path: str | Path, online: bool | None = None) -> Report:
    from xstilts import config
    from xstilts.study import Study

    online = not download.hub_offline() if online is None else online
    try:
        study = Study(config.load(config_path))
    except ConfigError as e:
        report = Report([Problem(str(e), "correct the config; the other checks need a valid one")])
        _check_driver(report)
        return report
    report = Report([])
    _check_driver(report)
    architectures = {}
    for snapshot in download.snapshots(study):
        report.snapshots += 1
        hub_files = _check_snapshot(snapshot, online, report)
        if snapshot.kind == "models":
            arch = _model_config(snapshot, hub_files)
            for model in study.grid["models"]:
                if study.hub_model(model) == (snapshot.repo, snapshot.revision) and arch:
                    architectures[model] = arch
    report.retrieval = tuple(_retrieval_line(study, m, architectures) for m in study.grid["models"])
    problems = config.value_problems(study, architectures)
    report.problems += [Problem(p, "change that value in the config") for p in problems]
    for task in study.data_tasks():
        spec = study.data_source(task)
        if spec["source"] == "hub":
            report.problems += _hub_task_problems(study, task, spec)
        elif spec["source"] == "local":
            report.problems += _local_task_problems(task, spec)
        report.warnings += _multiword_warnings(study, task, spec)
    return report


def _check_driver(report: Report) -> None:
    """On a GPU node (an NVIDIA driver): does the driver run torch's CUDA build?"""
    nvidia = driver.driver_version()
    if nvidia is not None:
        fits, report.gpu = driver.fit(driver.torch_cuda(), nvidia)
        if not fits:
            fix = "the GPU jobs would fail at their first CUDA call"
            report.problems.append(Problem(report.gpu, fix))


def _check_snapshot(snapshot, online: bool, report: Report) -> dict[str, int] | None:
    """Check one snapshot in the mirror, or on the hub if absent; its files on the hub."""
    files = download.local_files(snapshot.folder)
    if files:
        report.present_bytes += sum((snapshot.folder / f).stat().st_size for f in files)
        if gaps := download.missing(snapshot, files):
            report.problems.append(
                Problem(
                    f"{snapshot.kind[:-1]} {snapshot.repo}@{snapshot.revision}: {snapshot.folder} "
                    f"has no file matching {', '.join(gaps)} (a config or file the grid needs)"
                    f"{_script_note(snapshot, files)}",
                    "use the repository's parquet files (revision refs/convert/parquet, or a "
                    "maintained mirror: docs/hub.md)"
                    if _script_note(snapshot, files)
                    else f"fetch it: {download.hand_command(snapshot)}, or run the download stage",
                )
            )
        return None
    if not online:
        report.unknown += 1
        report.problems.append(
            Problem(
                f"{snapshot.kind[:-1]} {snapshot.repo}@{snapshot.revision} is not in the mirror "
                f"({snapshot.folder} is absent) and the hub is offline here",
                "run preflight where the hub can be reached (the download jobs then fill the "
                f"mirror), or fill it by hand: {download.hand_command(snapshot)}",
            )
        )
        return None
    try:
        from huggingface_hub import HfApi

        from xstilts import hub

        info = HfApi().repo_info(
            snapshot.repo,
            repo_type=hub.KINDS[snapshot.kind],
            revision=snapshot.revision,
            files_metadata=True,
        )
    except Exception as e:  # any hub failure (missing repo, revision, network) is a problem
        report.unknown += 1
        report.problems.append(
            Problem(
                f"{snapshot.kind[:-1]} {snapshot.repo}@{snapshot.revision}: the hub answered "
                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                "check the repository id and revision in the config and registry "
                "(docs/hub.md), and that the hub can be reached",
            )
        )
        return None
    sizes = {s.rfilename: s.size or 0 for s in info.siblings or []}
    wanted = download.selected(snapshot, list(sizes))
    report.missing_bytes += sum(sizes[f] for f in wanted)
    if gaps := download.missing(snapshot, list(sizes)):
        report.problems.append(
            Problem(
                f"{snapshot.kind[:-1]} {snapshot.repo}@{snapshot.revision} on the hub has no file "
                f"matching {', '.join(gaps)}{_script_note(snapshot, sizes)}",
                "use the repository's parquet files (revision refs/convert/parquet, or a "
                "maintained mirror: docs/hub.md) or correct the config name",
            )
        )
    return sizes


def _retrieval_line(study, model: str, architectures: dict) -> str:
    """Which hidden layer and pooling retrieval uses for ``model``, and why."""
    from xstilts.formats import retrieval

    spec = study.model(model)
    arch = architectures.get(model) or spec.get("build", {}).get("architecture", {})
    depth = arch.get("num_hidden_layers") or spec.get("num_hidden_layers")
    ref = study.hub_model(model)
    local = Path(spec.get("hub") or "-").expanduser()
    folder = download.Snapshot("models", *ref, (), study.mirror).folder if ref else local
    if depth is None:
        return f"model {model}: retrieval layer unknown until its config.json is downloaded"
    try:
        layer, pooling, why = retrieval.choose(
            folder, study.retrieval_layer(model), study.config["retrieval"]["pooling"], depth
        )
    except ValueError as e:
        return f"model {model}: {e}"
    return f"model {model}: retrieval pools layer {layer} of {depth}, {pooling} pooling: {why}"


def _script_note(snapshot, files) -> str:
    script = f"{snapshot.repo.split('/')[1]}.py"
    return f" (it holds {script}: a script-only repository)" if script in files else ""


def _model_config(snapshot, hub_files: dict | None) -> dict | None:
    """The model's config.json, from the mirror or (small) from the hub."""
    path = snapshot.folder / "config.json"
    if path.is_file():
        return json.loads(path.read_text())
    if not hub_files or "config.json" not in hub_files:
        return None
    from huggingface_hub import hf_hub_download

    with tempfile.TemporaryDirectory() as tmp:
        got = hf_hub_download(
            snapshot.repo, "config.json", revision=snapshot.revision, local_dir=tmp
        )
        return json.loads(Path(got).read_text())


def _hub_task_problems(study, task_name: str, spec: dict) -> list[Problem]:
    """Each config, split, column and label set of a hub task, read from the mirror as the
    prepare_data job reads it (splits not in the mirror were reported with their snapshot)."""
    from xstilts import hub, read_hub
    from xstilts.loaders import DataFormatError
    from xstilts.splits import split_name, wanted_splits

    task = registry.restrict(registry.get(task_name), spec.get("languages"))
    out: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="xstilts-preflight-") as cache:
        for split, lang in wanted_splits(task):
            for source in hub.sources_for(task.hub, lang):
                revision = spec.get("revisions", {}).get(source.repo, source.revision)
                folder = hub.dataset_dir(spec["mirror"], source.repo, revision)
                if split not in source.splits or not download.local_files(folder):
                    continue  # absent: reported with its snapshot
                hub_split = source.splits[split]
                try:
                    ds, where = read_hub.hub_split(source, lang, hub_split, spec, cache)
                    names = read_hub._label_names(task, source, ds, where)
                    if hub_split in source.unlabelled:
                        continue
                    n = min(len(ds), ROWS_CHECKED)
                    records = [source.columns.record(ds[i], i, names) for i in range(n)]
                    if n and not any(read_hub._has_gold(task, r) for r in records):
                        out.append(
                            Problem(
                                f"task {task_name} split {split_name(split, lang)} "
                                f"({where}): no gold labels or answers in its first {n} rows "
                                "(a copy with stripped test labels)",
                                task.gold
                                or "labelled data come from the original files "
                                f"(data.tasks.{task_name}.source: local)",
                            )
                        )
                except (DataFormatError, ValueError) as e:
                    out.append(Problem(f"task {task_name}: {e}"))
    return out


def _multiword_warnings(study, task_name: str, spec: dict) -> list[str]:
    """Data that read CoNLL-U multiword tokens unlike XTREME (the registry's ``multiword``) in a
    task the reproduction table compares with published numbers: the hub's UD-POS copy keeps the
    subtokens (docs/hub.md), and so does ``data.tasks.udpos.multiword: subtokens``."""
    from xstilts import hub, report

    task = registry.get(task_name)
    pub = report.published()
    bench = study.benchmark()
    tasks, same = report.comparable(pub, bench)
    grouped = {t for g in pub["groups"] for t in bench.groups.get(g, ())} if same else set()
    if task_name not in {*tasks, *grouped} or not task.multiword:
        return []
    if spec["source"] == "local":
        read = {f"data.tasks.{task_name}.multiword": spec.get("multiword")}
    else:
        langs = spec.get("languages") or task.languages
        read = {
            f"the hub copy {s.repo} ({s.config})": s.multiword
            for lang in langs
            for s in hub.sources_for(task.hub, lang)
        }
    return [
        f"task {task_name}: {what} reads multiword tokens as {how}, XTREME's published numbers "
        f"as {task.multiword}: the reproduction table does not compare like with like "
        "(docs/hub.md, UD-POS multiword tokens); read the CoNLL-U files "
        f"(data.tasks.{task_name}.source: local, multiword: {task.multiword})"
        for what, how in read.items()
        if how and how != task.multiword
    ]


def _local_task_problems(task_name: str, spec: dict) -> list[Problem]:
    """The original files a local task reads: root and every split's files, in the study's
    languages of the task."""
    from xstilts import read_local
    from xstilts.splits import SPLITS, split_name, wanted_splits

    task = registry.restrict(registry.get(task_name), spec.get("languages"), local=True)
    root = Path(spec["root"])
    key = f"data.tasks.{task_name}.root" if task.licence else "data.root"
    if not root.is_dir():
        fix = task.licence or f"point {key} at the folder holding the original files"
        return [Problem(f"task {task_name} (source: local): {root} is not a folder", fix)]
    files = {**{k: v for k, v in task.local.items() if k in SPLITS}, **spec["files"]}
    out = []
    for split, lang in wanted_splits(task):
        name = split_name(split, lang)
        patterns = [p for _, p in read_local._patterns(files.get(split))]
        patterns = [p for p in patterns if "{lang" in p or lang == "en"]
        if not patterns:  # wanted_splits leaves out the declared gaps
            continue
        if not any(read_local._files(root, p, lang) for p in patterns):
            looked = ", ".join(str(root / p) for p in patterns)
            out.append(
                Problem(
                    f"task {task_name} (source: local): no file for {name} (looked for {looked})",
                    f"put the original files there, or set data.tasks.{task_name}.files",
                )
            )
    return out


def cmd_preflight(args) -> None:
    from xstilts import config
    from xstilts.study import Study

    report = preflight(args.configfile, online=False if args.offline else None)
    try:
        mirror = Study(config.load(args.configfile)).mirror
    except ConfigError:
        mirror = "(config invalid)"
    print(report.text(args.configfile, mirror))
    if report.problems:
        sys.exit(1)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "preflight", help="check the grid's models, data and values before submitting"
    )
    p.add_argument("--configfile", required=True)
    p.add_argument("--offline", action="store_true", help="check the mirror only, not the hub")
    p.set_defaults(func=cmd_preflight)
