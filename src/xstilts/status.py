"""``xstilts status``: where every cell of a study stands, while Snakemake runs it.

Light (no torch) and read-only, so it is safe next to a running Snakemake. Per cell
(model, intermediate, target, seed) it follows the cell's jobs in order (intermediate
training, training before the target, fine-tuning or retrieval, scoring) and says of the first
one not finished why: running (its step, total and ETA from the live curve file beside its
checkpoints), failed (SLURM state and exit code where SLURM answers, the last lines of its log) or
waiting (on that job). Job state comes from the files Snakemake and its SLURM executor leave:

- an output present: done; ``.snakemake/incomplete/`` (base64 of the output path): started and
  not finished (running, or killed with Snakemake);
- ``.snakemake/slurm_logs/rule_<rule>/<wildcards>/<jobid>.log`` and the submissions in
  Snakemake's logs (``.snakemake/log/``): one SLURM job per attempt (more than one, or a
  requeued one: retried); ``sacct`` (else ``scontrol``) gives each one's state and exit code;
- ``logs/<study>/<rule>/...log``: the job's own log (its last error lines);
- ``timings/<study>/<rule>/...tsv``: a finished job's measured seconds, which correct the
  ``xstilts estimate`` GPU-hours of the jobs still to run.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xstilts import curves, layout, registry

SLURM_FAILED = {"FAILED", "TIMEOUT", "OUT_OF_MEMORY", "PREEMPTED", "NODE_FAIL", "CANCELLED",
                "BOOT_FAIL", "DEADLINE"}  # fmt: skip
SLURM_ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING",
                "SUSPENDED"}  # fmt: skip
ERROR_LINES = 3
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: \S*/(rule_\w+/[^/\s]*)/\d+\.log\)")
ERROR = re.compile(r"^[\w.]*(Error|Exception|Invalid|Interrupt)\b|\berror:|CANCELLED|Killed")


@dataclass
class Job:
    """One job of a cell: its rule, wildcards and the files that say how it went."""

    rule: str
    wildcards: dict
    output: str
    study: str  # its logs and benchmark files are under the study's folders
    checkpoints: str | None = None  # a training job's: its live curve file is there
    state: str = "waiting"  # done, running, failed, waiting
    attempts: list[dict] = field(default_factory=list)  # SLURM: job id, state, exit code
    log: str | None = None
    error: list[str] = field(default_factory=list)
    progress: dict | None = None
    curves: str | None = None
    seconds: float | None = None  # measured (benchmark file)

    @property
    def stem(self) -> str:
        w = self.wildcards
        path = "/".join(
            [w["model"]]
            + [w[k] for k in ("inter", "target") if k in w]
            + [f"seed{w['seed']}"]
            + ([w["stage"]] if "stage" in w else [])
        )
        return f"{self.rule}/{path}"


def cell_jobs(study, model: str, inter: str, target: str, seed) -> list[Job]:
    """The jobs a cell's score depends on, in the order they run."""
    w = {"model": model, "inter": inter, "seed": str(seed)}
    jobs = []
    if inter in study.trained_intermediates(model):
        ckpt = study.path(layout.INTERMEDIATE_CHECKPOINTS, **w)
        jobs.append(Job("train_intermediate", w, study.path(layout.ENCODER, **w), study.name, ckpt))
    run = {"model": model, "inter": inter, "target": target, "seed": str(seed)}
    if registry.trains(target):
        for stage in study.train_before(target):
            out = study.path(layout.BEFORE_MODEL, **run, stage=stage)
            ckpt = study.path(layout.BEFORE_CHECKPOINTS, **run, stage=stage)
            jobs.append(Job("train_before_target", {**run, "stage": stage}, out, study.name, ckpt))
        out, ckpt = (study.path(p, **run) for p in (layout.PREDICTIONS, layout.TARGET_CHECKPOINTS))
        jobs.append(Job("finetune", run, out, study.name, ckpt))
    else:
        jobs.append(Job("retrieve", run, study.path(layout.PREDICTIONS, **run), study.name))
    jobs.append(Job("score", run, study.path(layout.METRICS, **run), study.name))
    return jobs


def _incomplete(root: Path) -> set[str]:
    """Outputs Snakemake marked as started and not yet finished."""
    folder = root / ".snakemake" / "incomplete"
    out = set()
    for path in folder.rglob("*") if folder.is_dir() else ():
        if path.is_file() and path.name != "migration_underway":
            parts = path.relative_to(folder).parts
            encoded = "".join(p.removeprefix("@") for p in parts)
            try:
                out.add(base64.urlsafe_b64decode(encoded).decode())
            except ValueError:
                continue
    return out


def submissions(root: Path) -> dict[str, set[int]]:
    """SLURM job ids per executor log folder (``rule_<rule>/<wildcards>``), from the logs that
    remain and from Snakemake's own logs (the executor deletes a successful job's log)."""
    out: dict[str, set[int]] = {}
    logs = root / ".snakemake" / "slurm_logs"
    for path in logs.glob("rule_*/*/*.log") if logs.is_dir() else ():
        if path.stem.isdigit():
            out.setdefault(f"{path.parent.parent.name}/{path.parent.name}", set()).add(
                int(path.stem)
            )
    for path in (root / ".snakemake" / "log").glob("*.snakemake.log"):
        for m in SUBMITTED.finditer(path.read_text(errors="replace")):
            out.setdefault(m[2], set()).add(int(m[1]))
    return out


def _slurm_attempts(job: Job, submitted: dict[str, set[int]]) -> list[int]:
    """SLURM job ids of the job's attempts, oldest first."""
    wildcards = "_".join(job.wildcards[k] for k in ("model", "inter", "target", "seed", "stage")
                         if k in job.wildcards)  # fmt: skip
    return sorted(submitted.get(f"rule_{job.rule}/{wildcards}", ()))


def slurm_states(ids: list[int]) -> dict[int, dict]:
    """State and exit code of SLURM jobs: ``sacct`` where accounting answers, else ``squeue``
    (state) and ``scontrol`` (exit code) while SLURM still remembers the job; {} without SLURM."""
    if not ids:
        return {}
    found: dict[int, dict] = {}
    joined = ",".join(map(str, ids))
    if shutil.which("sacct"):
        out = _run(["sacct", "-X", "-n", "-P", "-o", "JobID,State,ExitCode", "-j", joined])
        for line in out.splitlines():
            job, state, code = (line.split("|") + ["", ""])[:3]
            if job.isdigit():
                found[int(job)] = {"state": state.split()[0], "exit_code": code}
    missing = [i for i in ids if i not in found]
    if missing and shutil.which("scontrol"):
        for i in missing:
            show = _run(["scontrol", "show", "job", "-o", str(i)])
            state = re.search(r"\bJobState=(\S+)", show)
            if state:
                code = re.search(r"\bExitCode=(\S+)", show)
                found[i] = {"state": state[1], "exit_code": code[1] if code else None}
                restarts = re.search(r"\bRestarts=(\d+)", show)
                if restarts and int(restarts[1]):  # requeued (same job id, started again)
                    found[i]["restarts"] = int(restarts[1])
    return found


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _log_path(job: Job) -> str:
    return f"{layout.LOGS.format(study=job.study)}/{job.stem}.log"


def error_lines(log: Path, n: int = ERROR_LINES) -> list[str]:
    """The last lines of a failed job's log that say why: up to its last error (an exception
    line, ``error:``, SLURM's CANCELLED), else its end."""
    try:
        lines = [ln.rstrip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return []
    marks = [i for i, ln in enumerate(lines) if ERROR.search(ln)]
    if marks:
        return lines[max(0, marks[-1] - n + 1) : marks[-1] + 1]
    return lines[-n:]


def _running_curves(root: Path, job: Job) -> Path | None:
    """A running training job's live curve file, beside its checkpoints."""
    path = root / job.checkpoints / curves.FILE if job.checkpoints else None
    return path if path is not None and path.is_file() else None


def _measured(root: Path, job: Job) -> float | None:
    bench = root / layout.TIMINGS.format(study=job.study) / f"{job.stem}.tsv"
    try:
        header, values = bench.read_text().splitlines()[:2]
        return float(dict(zip(header.split("\t"), values.split("\t"), strict=False))["s"])
    except (OSError, ValueError, KeyError):
        return None


def inspect(
    root: Path, job: Job, incomplete: set[str], submitted: dict, slurm: dict[int, dict]
) -> Job:
    """Fill in the job's state from the files and SLURM's answers."""
    ids = _slurm_attempts(job, submitted)
    job.attempts = [{"job_id": i, **slurm.get(i, {})} for i in ids]
    log = root / _log_path(job)
    job.log = str(log.relative_to(root)) if log.is_file() else None
    last = job.attempts[-1] if job.attempts else {}
    if (root / job.output).exists():
        job.state, job.seconds = "done", _measured(root, job)
        found = root / job.output / curves.FILE
        job.curves = job.output + "/" + curves.FILE if found.is_file() else None
        return job
    started = job.output in incomplete
    if last.get("state") in SLURM_ACTIVE or (started and last.get("state") not in SLURM_FAILED):
        job.state = "running" if last.get("state") != "PENDING" else "queued"
        path = _running_curves(root, job)
        if path is not None:
            job.curves = str(path.relative_to(root))
            job.progress = curves.progress(curves.read(path))
    else:
        lines = error_lines(log)  # read once: training logs are long, --watch re-reads
        # failed: what SLURM says, or (no SLURM to ask) a log ending in a traceback or error: line
        ended = last.get("state") in SLURM_FAILED or lines
        if ended and (last or any(ERROR.search(ln) for ln in lines)):
            job.state = "failed"
            job.error = lines or _slurm_log_errors(root, job, last)
    return job


def _slurm_log_errors(root: Path, job: Job, last: dict) -> list[str]:
    if not last:
        return []
    return error_lines(next((root / ".snakemake" / "slurm_logs").rglob(f"{last['job_id']}.log"),
                            root / "missing"))  # fmt: skip


@dataclass
class Cell:
    model: str
    inter: str
    target: str
    seed: str
    state: str
    score: float | None = None
    split: str | None = None
    retried: list[dict] = field(default_factory=list)  # jobs of several SLURM attempts
    waiting_on: str | None = None
    job: dict | None = None  # the job that decides the state (running, failed, waiting)


def _score(root: Path, study, metrics: str, key: tuple) -> tuple[float | None, str | None]:
    from xstilts import aggregate

    try:
        rows = aggregate.collect([root / metrics])
        found = aggregate.run_scores(rows, study.benchmark(), partial=True).get(key)
    except (OSError, ValueError, KeyError):
        return None, None
    return (found["score"], found["split"]) if found else (None, None)


def collect(study, root: Path, use_slurm: bool = True) -> dict:
    """Every cell's state, the jobs' progress and the ETA, as one JSON-able dict."""
    incomplete = _incomplete(root)
    grid = study.grid
    plan = []
    for model in grid["models"]:
        mgrid = study.model_grid(model)
        for inter in mgrid["intermediate"]:
            for target in mgrid["targets"]:
                for seed in mgrid["seeds"]:
                    plan.append(((model, inter, target, str(seed)),
                                 cell_jobs(study, model, inter, target, seed)))  # fmt: skip
    jobs: dict[str, Job] = {}  # an intermediate encoder is shared by the cells using it
    for _, cjobs in plan:
        for j in cjobs:
            jobs.setdefault(j.stem, j)
    submitted = submissions(root)
    ids = [i for j in jobs.values() for i in _slurm_attempts(j, submitted)]
    slurm = slurm_states(ids) if use_slurm else {}
    for j in jobs.values():
        inspect(root, j, incomplete, submitted, slurm)
    for _, cjobs in plan:  # a model trained before the target is deleted once fine-tuning ends
        finetune = jobs[cjobs[-2].stem]
        for j in cjobs:
            if j.rule == "train_before_target" and finetune.state == "done":
                jobs[j.stem].state = "done"
    cells = []
    for (model, inter, target, seed), cjobs in plan:
        cjobs = [jobs[j.stem] for j in cjobs]
        retried = [{"job": j.stem, "state": j.state, "attempts": j.attempts}
                   for j in cjobs if len(j.attempts) > 1
                   or any(a.get("restarts") for a in j.attempts)]  # fmt: skip
        cell = Cell(model, inter, target, seed, "waiting", retried=retried)
        if all(j.state == "done" for j in cjobs):
            cell.state = "done"
            cell.score, cell.split = _score(
                root, study, cjobs[-1].output, (inter, target, int(seed))
            )
        else:
            first = next(j for j in cjobs if j.state != "done")
            cell.state = first.state if first.state != "queued" else "running"
            if first.state == "waiting":
                cell.waiting_on = first.stem
            cell.job = asdict(first) | {"stem": first.stem}
        cells.append(cell)
    return {"cells": [asdict(c) for c in cells], "progress": progress(study, list(jobs.values()))}


def progress(study, jobs: list[Job]) -> dict:
    """Jobs done of the cells' jobs, and GPU-hours: the estimate's, scaled by how the finished
    training jobs' measured times compare with it, for the jobs still to run."""
    from xstilts import estimate

    cost = estimate.CostModel(study, estimate.load_assumptions(None), "A100")
    per_job = _estimated_hours(study, cost)
    done = [j for j in jobs if j.state == "done"]
    planned = {j.stem: per_job.get((j.rule, j.wildcards["model"]), 0.0) for j in jobs}
    measured = [(j.seconds / 3600, planned[j.stem]) for j in done if j.seconds and planned[j.stem]]
    factor = sum(m for m, _ in measured) / sum(p for _, p in measured) if measured else 1.0
    estimated_left = sum(planned[j.stem] for j in jobs if j.state != "done")
    left = estimated_left * factor
    running = [j for j in jobs if j.state == "running"]
    eta = left / len(running) * 3600 if running else None  # at the concurrency of now
    return {
        "jobs": len(jobs),
        "done": len(done),
        "running": len(running),
        "failed": sum(j.state == "failed" for j in jobs),
        "gpu_hours_estimated": sum(planned.values()),
        "gpu_hours_left_estimated": estimated_left,
        "gpu_hours_left": left,
        "measured_over_estimate": factor if measured else None,
        "eta_s": eta,
    }


def _estimated_hours(study, cost) -> dict[tuple[str, str], float]:
    """The estimate's GPU-hours of one job, per (rule, model)."""
    from xstilts import estimate

    total: dict[tuple[str, str], list[float]] = {}
    for job in estimate.plan(study):
        if job.model is not None:
            total.setdefault((job.rule, job.model), []).append(cost.gpu_hours(job))
    return {k: sum(v) / len(v) for k, v in total.items()}


# --- text -------------------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    return "?" if seconds is None else curves.duration(seconds)


def _cell_text(c: dict) -> str:
    retried = " (retried)" if c["retried"] else ""
    if c["state"] == "done":
        score = "?" if c["score"] is None else f"{c['score']:.1f}"
        return f"done {score}{retried}"
    job = c["job"]
    if c["state"] == "running":
        p = job.get("progress") or {}
        step = f" step {p['step']}/{p['total']}" if p.get("total") else ""
        eta = f" ETA {_duration(p['eta_s'])}" if "eta_s" in p else ""
        return f"running {job['rule']}{step}{eta}{retried}"
    if c["state"] == "failed":
        last = job["attempts"][-1] if job["attempts"] else {}
        slurm = f" SLURM {last['state']} exit {last.get('exit_code')}" if "state" in last else ""
        return f"FAILED {job['rule']}{slurm}{retried}"
    return f"waiting on {c['waiting_on'].split('/')[0]}{retried}"


def render(report: dict) -> str:
    lines = []
    cells = report["cells"]
    for model in dict.fromkeys(c["model"] for c in cells):
        mine = [c for c in cells if c["model"] == model]
        targets = list(dict.fromkeys(c["target"] for c in mine))
        rows = list(dict.fromkeys((c["inter"], c["seed"]) for c in mine))
        texts = {(c["inter"], c["seed"], c["target"]): _cell_text(c) for c in mine}
        head = ["intermediate", "seed", *targets]
        table = [[i, s, *(texts[(i, s, t)] for t in targets)] for i, s in rows]
        widths = [max(len(str(r[k])) for r in [head, *table]) for k in range(len(head))]
        lines.append(f"{model}:")
        for r in [head, *table]:
            cells_text = "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True))
            lines.append(("  " + cells_text).rstrip())
        for c in mine:
            job = c["job"] or {}
            where = f"{c['inter']}/{c['target']}/seed{c['seed']}"
            if c["state"] == "failed":
                ids = [str(a["job_id"]) for a in job["attempts"]]
                lines.append(f"  failed {where}: {job['stem']}"
                             + (f" (SLURM job {', '.join(ids)})" if ids else ""))  # fmt: skip
                lines.append(f"    log: {job['log'] or 'none'}")
                lines += [f"    | {ln}" for ln in job["error"]]
            elif c["state"] == "running" and job.get("curves"):
                lines.append(f"  running {where}: curves {job['curves']}")
            for r in c["retried"]:
                tries = ", ".join(
                    f"{a['job_id']} {a.get('state', '?')} {a.get('exit_code') or ''}".rstrip()
                    + (f" requeued {a['restarts']}x" if a.get("restarts") else "")
                    for a in r["attempts"]
                )
                lines.append(f"  retried {where}: {r['job']} (SLURM {tries})")
    p = report["progress"]
    factor = p["measured_over_estimate"]
    if p["done"] == p["jobs"]:
        eta = "all done"
    else:
        eta = f"ETA {_duration(p['eta_s'])}" if p["running"] else "ETA: nothing running"
    lines.append(
        f"progress: {p['done']}/{p['jobs']} jobs done, {p['running']} running, {p['failed']} "
        f"failed; {p['gpu_hours_left']:.3g} GPU-h left"
        + (
            f" (estimate {p['gpu_hours_left_estimated']:.3g} x {factor:.3g}, finished jobs'"
            " measured/estimated time)"
            if factor
            else " (estimate; no job measured yet)"
        )
        + f"; {eta}"
    )
    return "\n".join(lines)


def cmd_status(args) -> None:
    from xstilts import config
    from xstilts.study import Study

    study = Study(config.load(args.configfile))
    root = Path(args.directory)
    while True:
        report = collect(study, root, use_slurm=not args.no_slurm)
        text = json.dumps(report, indent=1) if args.json else render(report)
        if args.watch:
            sys.stdout.write("\033[2J\033[H" if sys.stdout.isatty() else "\n")
        print(text, flush=True)
        if not args.watch:
            return
        time.sleep(args.watch)


def register(subparsers) -> None:
    p = subparsers.add_parser("status", help="where every cell of a running study stands")
    p.add_argument("--configfile", required=True)
    p.add_argument("--directory", default=".", help="the study's working directory")
    p.add_argument("--json", action="store_true", help="the same as JSON")
    p.add_argument("--watch", type=float, metavar="S", help="refresh every S seconds")
    p.add_argument("--no-slurm", action="store_true", help="do not ask SLURM (files only)")
    p.set_defaults(func=cmd_status)
