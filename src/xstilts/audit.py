"""Trace and check results through their manifests.

``xstilts explain`` walks the chain of manifests behind one cell of a transfer matrix (evaluation,
target training, intermediate encoder or pretrained model, tokenised caches, data) and prints what
each job was, what it read and where and how it ran. ``xstilts verify`` recomputes every hash the
manifests record and reports files that changed, went missing or that no job produced.

Paths in manifests are relative to the run's working directory: the folder that holds
``results/``.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from xstilts import layout
from xstilts.analysis import trace
from xstilts.provenance import file_hashes, sha256_file

SNAKEMAKE_MARKER = ".snakemake_timestamp"  # Snakemake's own file inside folder outputs
DOWNLOAD_MANIFEST = "download.json"  # a hub mirror snapshot's manifest (xstilts.download)
# a model trained before a target task (XCOPA: SIQa), a temp() output deleted once used
TEMPORARY_MODEL = re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(layout.BEFORE_MODEL)))


class Manifests:
    """The manifests of one working directory, read once each, found by the outputs they list."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self._records: dict[Path, dict] = {}
        self._digests: dict[Path, str] = {}

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.workdir))
        except ValueError:
            return str(path)

    def load(self, manifest: Path) -> dict:
        if manifest not in self._records:
            self._records[manifest] = json.loads(manifest.read_text())
        return self._records[manifest]

    def digest(self, manifest: Path) -> str:
        if manifest not in self._digests:
            self._digests[manifest] = sha256_file(manifest)
        return self._digests[manifest]

    def producer(self, path: str) -> Path | None:
        """The manifest listing ``path`` as an output: inside a folder output, or beside a file."""
        p = self.workdir / path
        for m in (p / layout.MANIFEST, p.parent / layout.MANIFEST, p / DOWNLOAD_MANIFEST):
            if not m.is_file():
                continue
            try:
                if path in self.load(m).get("outputs", {}):
                    return m
            except ValueError:  # unreadable: whoever reads it will say so
                return m
        return None


def workdir_of(path: Path) -> Path:
    """The folder that contains the ``results/`` folder ``path`` lies in."""
    path = path.resolve()
    for p in (path, *path.parents):
        if p.name == "results":
            return p.parent
    raise FileNotFoundError(f"{path} is not inside a results/ folder")


# --- explain: the value ---
def _fail(source: Path, what: str, value, available) -> LookupError:
    values = ", ".join(map(str, sorted(set(available), key=str))) or "none"
    return LookupError(f"{source}: no {what} {value!r}; available {what}s: {values}")


def _read_rows(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def _check(source: Path, rows: list[dict], **wanted) -> list[dict]:
    """Rows matching every ``column=value`` in turn; LookupError naming the missing one."""
    for column, value in wanted.items():
        if value is None:
            continue
        match = [r for r in rows if r[column] == value]
        if not match:
            raise _fail(source, column, value, (r[column] for r in rows))
        rows = match
    return rows


def _cell(row: dict) -> dict:
    """A transfer-matrix row (from the CSV or computed) with typed values."""

    def number(v):
        return None if v in (None, "") else float(v)

    return {
        "kind": "cell",
        **row,
        "n_seeds": int(row["n_seeds"]),
        **{k: number(row[k]) for k in ("mean", "sd", "delta_vs_none")},
        "seeds": [int(s) for s in str(row["seeds"]).split(";")],
        "run_ids": row["run_ids"].split(";"),
    }


def cell_value(model_dir: Path, source: Path, inter: str, target: str, lang, seed) -> dict:
    """The cell, or one language or seed of it, that ``explain`` starts from."""
    if lang is None and seed is None and source.suffix != ".parquet":
        source = model_dir / Path(layout.MATRIX_CSV).name
        with open(source) as f:
            (row,) = _check(source, list(csv.DictReader(f)), intermediate=inter, target=target)
        return _cell(row)
    from xstilts import aggregate

    source = model_dir / Path(layout.SCORES).name
    every = _read_rows(source)
    rows = _check(source, every, intermediate=inter, target=target, seed=seed)
    bench = aggregate.read_benchmark(source)
    if lang is None and seed is None:
        cells = aggregate.matrix(every, bench)
        return _cell(next(c for c in cells if (c["intermediate"], c["target"]) == (inter, target)))
    if lang is None:
        (score,) = aggregate.run_scores(rows, bench).values()
        return {
            "kind": "seed",
            "seed": seed,
            **score,
            "seeds": [seed],
            "run_ids": [score["run_id"]],
        }
    rows = _check(source, rows, lang=lang)
    split = next(s for s in aggregate.REPORT_SPLITS if any(r["split"] == s for r in rows))
    rows = [r for r in rows if r["split"] == split]
    return {
        "kind": "language",
        "lang": lang,
        "split": split,
        "values": [{k: r[k] for k in ("seed", "metric", "value", "run_id")} for r in rows],
        "seeds": sorted({r["seed"] for r in rows}),
        "run_ids": sorted({r["run_id"] for r in rows}),
    }


# --- explain: the chain ---
def chain(store: Manifests, model_dir: Path, inter: str, target: str, value: dict) -> list[dict]:
    """Manifest records (with depth) from the aggregation down to the data, one seed after
    another; a manifest shown before is listed again by name only."""
    model, study = model_dir.name, model_dir.parent.name  # results/{study}/{model}
    runs = {
        layout.METRICS.format(study=study, model=model, inter=inter, target=target, seed=s)
        for s in value["seeds"]
    }
    nodes: list[dict] = []
    seen: set[str] = set()
    aggregate = model_dir / layout.MANIFEST
    if aggregate.is_file():
        _walk(store, aggregate, 0, nodes, seen, only=runs)
    else:
        for path in sorted(runs):
            _walk_input(store, {"path": path}, 0, nodes, seen)
    return nodes


def _walk(
    store: Manifests,
    manifest: Path,
    depth: int,
    nodes: list[dict],
    seen: set[str],
    only: set[str] | None = None,
) -> None:
    """Add ``manifest`` and, depth first, the producers of its inputs (those in ``only``)."""
    name = store.rel(manifest)
    try:
        record = store.load(manifest)
    except ValueError:
        nodes.append({"depth": depth, "path": name, "note": "MISSING: unreadable manifest"})
        return
    _walk_record(store, name, record, depth, nodes, seen, only)


def _walk_record(
    store: Manifests,
    name: str,
    record: dict,
    depth: int,
    nodes: list[dict],
    seen: set[str],
    only: set[str] | None = None,
) -> None:
    """Add one job's record and, depth first, the producers of its inputs (those in ``only``)."""
    if name in seen:
        nodes.append(
            {
                "depth": depth,
                "manifest": name,
                "rule": record.get("rule"),
                "run_id": record.get("run_id"),
                "see_above": True,
            }
        )
        return
    seen.add(name)
    nodes.append({"depth": depth, "manifest": name, "record": record})
    paths = []
    for entry in record.get("inputs", []):
        if entry["path"] not in paths and (only is None or entry["path"] in only):
            paths.append(entry["path"])
            _walk_input(store, entry, depth + 1, nodes, seen)


def _walk_input(
    store: Manifests, entry: dict, depth: int, nodes: list[dict], seen: set[str]
) -> None:
    """Walk the job that produced an input, or add a leaf saying why there is none."""
    producer = store.producer(entry["path"])
    if producer is not None:
        _walk(store, producer, depth, nodes, seen)
    elif "manifest" in entry:  # a temporary input (target model): its record travels along
        name = f"{entry['path']}/manifest.json (copied into the consumer's manifest)"
        _walk_record(store, name, entry["manifest"], depth, nodes, seen)
    elif "reference" in entry:
        nodes.append({"depth": depth, "path": entry["path"], "note": "hub id (no manifest)"})
    elif "sha256" in entry:
        nodes.append({"depth": depth, "path": entry["path"], "note": "file without a manifest"})
    elif _removed_temporary(store.workdir, entry["path"]):
        nodes.append(
            {
                "depth": depth,
                "path": entry["path"],
                "note": "temporary model, deleted with its manifest once used",
            }
        )
    else:
        nodes.append({"depth": depth, "path": entry["path"], "note": "MISSING: no manifest"})


# --- explain: printing ---
def _flat(value, prefix: str = "") -> list[str]:
    """``key=value`` items of a (nested) mapping; lists joined with commas."""
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _flat(v, f"{prefix}{k}.")]
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return [f"{prefix.rstrip('.')}={value}"]


def _mapping_lines(label: str, mapping) -> list[tuple[str, str]]:
    """Scalars of a mapping on one line, each nested mapping on its own (``label.key``)."""
    if not isinstance(mapping, dict):
        return []
    nested = {k: v for k, v in mapping.items() if isinstance(v, dict)}
    flat = {k: v for k, v in mapping.items() if k not in nested and k != "log_history"}
    return [(label, " ".join(_flat(flat)))] + [
        (f"{label}.{k}", " ".join(_flat(v))) for k, v in nested.items()
    ]


def _code_line(git: dict, state: str) -> str:
    """The code a job ran: its git commit, or (an installed package) the digest of its files."""
    if git.get("commit"):
        return f"{git['commit']} ({state})"
    if git.get("code"):
        return f"no git checkout; installed package files sha256 {git['code']}"
    return f"unknown commit ({state})"


def _environment_lines(record: dict, previous: dict) -> list[tuple[str, str]]:
    """Where and how a job ran; package versions only where they differ from the job above."""
    git = record.get("git") or {}
    state = {True: "dirty tree", False: "clean tree"}.get(git.get("dirty"), "state unknown")
    packages = record.get("packages") or {}
    gpu = ", ".join(record.get("gpu") or []) or "none"
    slurm = " ".join(_flat(record.get("slurm") or {})) or "none"
    lock = record.get("lock")
    if lock == previous.get("lock") and "lock" in previous:
        lock_text = "(as above)"
    elif lock:
        n = len(lock["differs"])
        agree = "agrees" if not n else f"{n} package(s) differ: {', '.join(lock['differs'])}"
        lock_text = f"{lock['file']} sha256 {lock['sha256']} ({agree})"
    else:
        lock_text = "none recorded"
    return [
        ("git", _code_line(git, state)),
        (
            "packages",
            "(as above)"
            if packages == previous.get("packages")
            else ", ".join(f"{k} {v}" for k, v in packages.items()),
        ),
        ("lock", lock_text),
        ("host", f"{record.get('host')} ({record.get('platform')}); gpu: {gpu}; slurm: {slurm}"),
        (
            "time",
            f"{record.get('started')} .. {record.get('finished')} ({record.get('duration_s')} s)",
        ),
        ("log", str(record.get("log"))),
    ]


def _job_lines(record: dict, previous: dict) -> list[tuple[str, str]]:
    """(label, text) pairs describing one job."""
    outputs = "; ".join(
        f"{p} ({len(f)} file{'s' * (len(f) != 1)})" for p, f in record.get("outputs", {}).items()
    )
    lines = [
        ("wildcards", " ".join(_flat(record.get("wildcards", {})))),
        *_mapping_lines("params", record.get("params")),
        ("outputs", outputs),
        *_mapping_lines("summary", record.get("summary")),
        *[(k, str(record[k])) for k in ("cells", "rows") if k in record],
        *_environment_lines(record, previous),
    ]
    return [(label, text) for label, text in lines if text]


def _describe_value(value: dict) -> str:
    if value["kind"] == "analysis":
        return trace.describe(value)
    if value["kind"] == "language":
        per = "; ".join(f"seed {v['seed']} {v['metric']} {v['value']:.4f}" for v in value["values"])
        return f"language {value['lang']} ({value['split']} split): {per}"
    if value["kind"] == "seed":
        return f"seed {value['seed']} ({value['split']} split): score {value['score']:.4f}"
    delta = value["delta_vs_none"]
    delta = "" if delta is None else f", difference from none {delta:+.4f}"
    return (
        f"cell ({value['split']} split): mean {value['mean']:.4f}, "
        f"sd {value['sd']:.4f} over {value['n_seeds']} seed(s) "
        f"{','.join(map(str, value['seeds']))}{delta}"
    )


def render(source: str, inter: str, target: str, value: dict, nodes: list[dict]) -> str:
    """The chain as an indented tree, one block per job."""
    lines = [
        f"{source}: {inter} -> {target}: {_describe_value(value)}",
        f"run ids: {', '.join(value['run_ids'])}",
        "",
    ]
    previous: dict = {}
    for node in nodes:
        pad = "    " * node["depth"]
        if "path" in node:
            lines.append(f"{pad}{node['path']}: {node['note']}")
        elif node.get("see_above"):
            lines.append(
                f"{pad}{node['rule']} [{node['run_id'][:8]}] {node['manifest']} (shown above)"
            )
        else:
            record = node["record"]
            lines.append(f"{pad}{record.get('rule')} [{record['run_id'][:8]}] {node['manifest']}")
            lines += [f"{pad}  {label:<10} {text}" for label, text in _job_lines(record, previous)]
            previous = record
    return "\n".join(lines)


def explain(results_file: Path, inter: str, target: str, lang=None, seed=None, model=None) -> dict:
    """The value of one cell and the manifest chain behind it."""
    results_file = Path(results_file)
    if not results_file.exists():
        raise FileNotFoundError(f"{results_file} does not exist")
    if trace.is_analysis_table(results_file):
        return _explain_analysis(results_file, inter, target, lang, model)
    model_dir = results_file if results_file.is_dir() else results_file.parent
    store = Manifests(workdir_of(model_dir))
    value = cell_value(model_dir, results_file, inter, target, lang, seed)
    nodes = chain(store, model_dir, inter, target, value)
    warnings = _stale_run_ids(value, nodes)
    return {
        "source": str(results_file),
        "model": model_dir.name,
        "intermediate": inter,
        "target": target,
        "value": value,
        "warnings": warnings,
        "chain": nodes,
    }


def _explain_analysis(table: Path, inter: str, target: str, lang, model) -> dict:
    """An analysis table's rows (``xstilts.analysis``): its job, then every run they list."""
    store = Manifests(workdir_of(table))
    value = trace.value(table, inter, target, lang, model)
    nodes: list[dict] = []
    seen: set[str] = set()
    job = table.parent.parent / layout.MANIFEST
    if job.is_file():
        _walk(store, job, 0, nodes, seen, only=set())
    for manifest in trace.run_manifests(store.workdir, value["run_ids"]):
        _walk(store, manifest, 1, nodes, seen)
    return {
        "source": str(table),
        "model": model,
        "intermediate": inter,
        "target": target,
        "value": value,
        "warnings": _stale_run_ids(value, nodes),
        "chain": nodes,
    }


def _stale_run_ids(value: dict, nodes: list[dict]) -> list[str]:
    """run ids of the table that no evaluation manifest in the chain carries any more."""
    found = {n["record"]["run_id"] for n in nodes if "record" in n}
    return [
        f"run id {r} of the table has no manifest now (re-run since aggregation?)"
        for r in value["run_ids"]
        if r not in found
    ]


def cmd_explain(args) -> None:
    try:
        out = explain(args.results_file, args.row, args.col, args.lang, args.seed, args.model)
    except LookupError as e:
        raise SystemExit(f"xstilts explain: error: {e}") from None
    if args.json:
        print(json.dumps(out, indent=2, default=str))
        return
    print(render(out["source"], args.row, args.col, out["value"], out["chain"]))
    for w in out["warnings"]:
        print(f"warning: {w}")


# --- verify ---
@dataclass
class Report:
    """What ``verify`` found."""

    manifests: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)


def _hidden(path: Path) -> bool:
    return any(part.startswith(".") for part in path.parts)


def _manifests(workdir: Path, results_dir: Path) -> list[Path]:
    roots = [results_dir, workdir / "resources"]
    return sorted(
        m
        for root in roots
        if root.is_dir()
        for name in (layout.MANIFEST, DOWNLOAD_MANIFEST)
        for m in root.rglob(name)
        if not _hidden(m.relative_to(workdir))
    )


def _output_file(workdir: Path, output: str, name: str, n_files: int) -> Path:
    """Where a file an output lists lies: the output itself (a file) or inside it (a folder)."""
    path = workdir / output
    if path.is_file() or (not path.is_dir() and n_files == 1 and name == path.name):
        return path
    return path / name


def _check_outputs(
    store: Manifests, manifest: Path, record: dict, report: Report, tracked: set
) -> None:
    where = f"(manifest: {store.rel(manifest)})"
    for output, files in record.get("outputs", {}).items():
        for name, digest in files.items():
            path = _output_file(store.workdir, output, name, len(files))
            tracked.add(path)
            report.files += 1
            if not path.is_file():
                report.problems.append(f"MISSING {store.rel(path)} {where}")
            elif sha256_file(path) != digest:
                report.problems.append(f"CHANGED {store.rel(path)} {where}")


def _removed_temporary(workdir: Path, path: str) -> bool:
    """A model Snakemake deleted once the job that needed it ended (``temp()``), manifest and
    all: the stage a target trains on before its own training data."""
    return bool(TEMPORARY_MODEL.fullmatch(path)) and not (workdir / path).exists()


def _check_inputs(store: Manifests, manifest: Path, record: dict, report: Report) -> None:
    name = store.rel(manifest)
    for path, entry in {e["path"]: e for e in record.get("inputs", [])}.items():
        if "manifest_sha256" in entry:
            producer = store.producer(path)
            if producer is None:
                if not _removed_temporary(store.workdir, path):
                    report.problems.append(f"MISSING {path} (input of {name}: no manifest)")
            elif store.digest(producer) != entry["manifest_sha256"]:
                report.problems.append(
                    f"STALE-INPUT manifest {name} input {path} (its manifest changed)"
                )
        elif "sha256" in entry:
            full = store.workdir / path
            if not full.exists():
                report.problems.append(f"MISSING {path} (input of {name})")
            elif file_hashes(full) != entry["sha256"]:
                report.problems.append(f"CHANGED {path} (input of {name})")


def _untracked(workdir: Path, results_dir: Path, tracked: set, manifests: set) -> list[str]:
    out = []
    for path in sorted(p for p in results_dir.rglob("*") if p.is_file()):
        if path in tracked or path in manifests or path.name == SNAKEMAKE_MARKER:
            continue
        rel = path.relative_to(workdir)
        leftover = any(re.match(r"\..*\.tmp", part) for part in rel.parts)
        out.append(f"UNTRACKED {rel}" + (" (leftover temporary file)" if leftover else ""))
    return out


def verify(results_dir: Path) -> Report:
    """Recompute every hash recorded under ``results_dir`` (``results/`` or one study's
    ``results/{study}``) and the ``resources/`` beside ``results/``."""
    results_dir = Path(results_dir).resolve()
    if not results_dir.is_dir():
        raise FileNotFoundError(f"{results_dir} is not a folder")
    store = Manifests(workdir_of(results_dir))
    old = layout.before_studies(store.workdir)
    if old:
        raise FileNotFoundError(old)
    report, tracked = Report(), set()
    manifests = _manifests(store.workdir, results_dir)
    for manifest in manifests:
        report.manifests += 1
        try:
            record = store.load(manifest)
        except ValueError:
            report.problems.append(f"CHANGED {store.rel(manifest)} (not a readable manifest)")
            continue
        _check_outputs(store, manifest, record, report, tracked)
        _check_inputs(store, manifest, record, report)
    report.problems += _untracked(store.workdir, results_dir, tracked, set(manifests))
    return report


def cmd_verify(args) -> None:
    report = verify(Path(args.results_dir))
    for line in report.problems:
        print(line)
    counts = f"{report.manifests} manifests, {report.files} files"
    if report.problems:
        raise SystemExit(f"verify: {len(report.problems)} problem(s) in {counts}")
    print(f"verified {counts}: all intact")


def register(subparsers) -> None:
    p = subparsers.add_parser("explain", help="the provenance chain behind one result")
    p.add_argument(
        "results_file",
        type=Path,
        help="results/{study}/{model}/transfer_matrix.csv, scores.parquet, "
        "results/{study}/{model}, or a table of results/{study}/analysis/",
    )
    p.add_argument("--row", required=True, help="intermediate task (matrix row)")
    p.add_argument("--col", required=True, help="target task (matrix column)")
    p.add_argument("--lang", help="one language's value (from scores.parquet)")
    p.add_argument("--seed", type=int, help="one seed's value (from scores.parquet)")
    p.add_argument("--model", help="analysis tables: the rows of one model")
    p.add_argument("--json", action="store_true", help="the chain as JSON")
    p.set_defaults(func=cmd_explain)

    p = subparsers.add_parser("verify", help="recompute the hashes every manifest records")
    p.add_argument("results_dir", nargs="?", default="results")
    p.set_defaults(func=cmd_verify)
