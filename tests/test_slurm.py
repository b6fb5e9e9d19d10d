"""The SLURM profile: the resources it would request for the paper's model, and a tiny study run
as real SLURM jobs on a single-node cluster started here (.ci/slurm-up.sh).

The end-to-end test needs a working SLURM. It uses one that is already running; otherwise, under
CI (env CI set) and as root, it installs and starts one with .ci/slurm-up.sh and stops it after
with .ci/slurm-down.sh. Elsewhere it is skipped, saying why.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, snakemake, tiny_study_config

PROFILE = REPO / "workflow" / "profiles" / "slurm"
CI_DIR = REPO / ".ci"
SLURMCTLD_LOG = Path("/var/log/slurm/slurmctld.log")
E2E_TIMEOUT_S = 480  # the run takes about 3 minutes on 2 cores
GPU_RULES = ("train_intermediate", "finetune", "retrieve")
CPU_RULES = ("prepare_data", "tokenize", "aggregate", "report_tables")


def env() -> dict:
    """The environment of this interpreter's venv (SLURM jobs inherit it: sbatch --export=ALL)."""
    e = dict(os.environ)
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    return e


def _killed_after(seconds: int, **extra_env) -> dict:
    """conftest.snakemake's arguments for a run under `timeout -s KILL` (as ``bounded``)."""
    return dict(
        configfile="tiny.yaml",
        prefix=("timeout", "-s", "KILL", str(seconds)),
        timeout=seconds + 30,
        env=dict(env(), **extra_env),
    )


def bounded(cmd: list[str], seconds: int, **kw) -> subprocess.CompletedProcess:
    """A command under `timeout -s KILL` (SLURM clients and the executor can hang)."""
    return subprocess.run(
        ["timeout", "-s", "KILL", str(seconds), *cmd],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        **kw,
    )


def job_resources(dry_run_output: str) -> dict[str, list[dict]]:
    """Resources of each job of a dry run, by rule (the `resources:` line of each job)."""
    out: dict[str, list[dict]] = {}
    rule = None
    for line in dry_run_output.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line):
            rule = m[1]
        elif rule and (m := re.match(r"^\s+resources: (.*)$", line)):
            items = dict(kv.split("=", 1) for kv in m[1].split(", "))
            out.setdefault(rule, []).append(
                {k: int(v) if v.isdigit() else v for k, v in items.items()}
            )
            rule = None
    return out


# --- the profile and the resources it requests (no SLURM needed) --------------------------------


def test_profile_named_slurm_resolves_from_the_repository_root():
    """`snakemake --profile slurm` looks in ./slurm: the committed link points at the profile."""
    link = REPO / "slurm"
    assert link.is_symlink() and os.readlink(link) == "workflow/profiles/slurm"
    assert link.resolve() == PROFILE.resolve()
    profile = yaml.safe_load((PROFILE / "config.v8+.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert profile["rerun-incomplete"] is True and profile["retries"] >= 1
    assert profile["latency-wait"] >= 30 and profile["jobs"] >= 1
    # site values and the status command belong elsewhere (config `cluster:`, command line)
    assert "slurm-status-command" not in profile
    assert not {"slurm_account", "slurm_partition"} & set(profile["default-resources"])
    # a profiles/default next to the Snakefile would be applied to every run
    assert not (REPO / "profiles" / "default").exists()


@pytest.fixture(scope="module")
def paper_plan() -> tuple[dict, dict]:
    """The README's command as typed, dry: `snakemake --profile slurm` from the repository root,
    which loads config/config.yaml; returns (job resources by rule, the paper config)."""
    run = bounded(["snakemake", "--profile", "slurm", "-n"], 300, cwd=REPO, env=env())
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "Using profile slurm" in out
    return job_resources(out), yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_paper_training_jobs_request_the_per_model_table(paper_plan):
    plan, config = paper_plan
    (name,) = config["grid"]["models"]
    model = config["models"][name]
    # every value a GPU job needs is in the table, not left to a default
    assert {"gpus", "batch_size_per_gpu", "zero_stage", "runtime_h", "mem_gb"} <= set(model)
    cpus_per_gpu = (config.get("cluster") or {}).get("cpus_per_gpu") or 8
    for rule in ("train_intermediate", "finetune"):
        assert plan[rule], rule
        for res in plan[rule]:
            assert res["gpu"] == model["gpus"] >= 1, (rule, res)
            assert res["cpus_per_gpu"] == cpus_per_gpu, (rule, res)
            assert res["nodes"] == 1, (rule, res)
            assert res["mem_mb"] == math.ceil(model["mem_gb"] * 1024), (rule, res)
            assert res["runtime"] == math.ceil(model["runtime_h"] * 60), (rule, res)
            # SLURM warns the batch shell before the limit; the job saves earlier still
            cluster = config.get("cluster") or {}
            signal_s = int((cluster.get("signal_margin_min") or 10) * 60)
            assert res["slurm_extra"] == f"--signal=B:USR1@{signal_s}", (rule, res)
            assert res["save_margin_s"] == int((cluster.get("save_margin_min") or 15) * 60)
            assert res["save_margin_s"] > signal_s
    for rule in ("retrieve",):
        for res in plan[rule]:
            assert res["gpu"] == 1 and res["nodes"] == 1, (rule, res)
            assert res["mem_mb"] == math.ceil(model["mem_gb"] * 1024 / model["gpus"])
            assert 60 <= res["runtime"] < math.ceil(model["runtime_h"] * 60), (rule, res)
    for rule in CPU_RULES:
        for res in plan[rule]:
            assert "gpu" not in res and "cpus_per_gpu" not in res, (rule, res)
            assert res["mem_mb"] > 0 and res["runtime"] > 0, (rule, res)
    # site values: only what the config's cluster section sets reaches the jobs
    cluster = config.get("cluster") or {}
    partitions = {r.get("slurm_partition") for rule in GPU_RULES for r in plan[rule]}
    assert partitions == {cluster.get("gpu_partition") or cluster.get("partition")}
    accounts = {r.get("slurm_account") for rules in plan.values() for r in rules}
    assert accounts <= {cluster.get("account")}


def test_paper_training_job_sbatch_flags(paper_plan):
    """The sbatch flags the SLURM plugin builds from those resources (its own code, no cluster)."""
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    class Resources(dict):
        __getattr__ = dict.__getitem__

    class Job:
        def __init__(self, resources):
            self.resources = Resources(resources)
            self.threads = 1

    plan, config = paper_plan
    model = config["models"][config["grid"]["models"][0]]
    job = Job(plan["train_intermediate"][0])
    params = dict(run_uuid="x", slurm_logfile="l", comment_str="c", account="", partition="")
    flags = get_submit_command(job, {**params, "workdir": None}) + set_gres_string(job)
    assert re.search(rf"--gpus=(\w+:)?{model['gpus']}\b", flags), flags
    assert f"--cpus-per-gpu={job.resources['cpus_per_gpu']}" in flags, flags
    assert f"--mem {math.ceil(model['mem_gb'] * 1024)}" in flags, flags
    assert f"-t {math.ceil(model['runtime_h'] * 60)}" in flags, flags
    assert "--nodes=1" in flags and "--cpus-per-task" not in flags, flags


def test_cpu_only_model_requests_no_gpu(tmp_path):
    """A model with `gpus: 0` (the demo) trains on CPUs: no GPU flags, CPU partition."""
    config = tiny_study_config()
    config["models"]["tiny"].update(gpus=0, mem_gb=3, runtime_h=0.5)
    config["cluster"] = {"partition": "cpu", "gpu_partition": "gpu", "cpu_mem_gb": 5}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    dry = ("--profile", str(PROFILE), "-n")
    run = snakemake(tmp_path, *dry, cores=None, check=False, **_killed_after(300))
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    plan = job_resources(run.stdout + run.stderr)
    for rule in ("train_intermediate", "finetune"):
        for res in plan[rule]:
            assert res["gpu"] == 0 and "cpus_per_gpu" not in res and "nodes" not in res
            assert res["slurm_partition"] == "cpu" and res["mem_mb"] == 3 * 1024
    for res in plan["finetune"]:
        assert res["runtime"] == 30
    for rule in CPU_RULES:
        for res in plan[rule]:
            assert res["slurm_partition"] == "cpu" and res["mem_mb"] == 5 * 1024


def test_save_margin_must_precede_the_warning_signal(tmp_path):
    """SLURM may signal up to 60 s early, and the signal ends the batch shell: a save margin that
    does not come first is refused, naming the keys."""
    config = tiny_study_config()
    config["cluster"] = {"save_margin_min": 10, "signal_margin_min": 10}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    dry = ("--profile", str(PROFILE), "-n")
    run = snakemake(tmp_path, *dry, cores=None, check=False, **_killed_after(300))
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-2000:]
    assert "'cluster.save_margin_min'" in out and "'cluster.signal_margin_min'" in out, out[-2000:]


# --- a tiny study through a real SLURM ----------------------------------------------------------


def _slurm_answers() -> bool:
    if not (shutil.which("sinfo") and shutil.which("sbatch") and shutil.which("squeue")):
        return False
    try:
        run = bounded(["sinfo", "-h", "-N", "-o", "%t"], 10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return run.returncode == 0 and bool(re.search(r"\b(idle|mix|alloc)\b", run.stdout))


@pytest.fixture(scope="module")
def slurm():
    """A working SLURM: the running one, or one this module starts (and stops) under CI."""
    if _slurm_answers():
        yield "running"
        return
    if not os.environ.get("CI"):
        pytest.skip(
            "no SLURM cluster answers here; set CI=1 (as root, with apt) to have the test "
            "install and start one with .ci/slurm-up.sh, or start it yourself"
        )
    if os.geteuid() != 0:
        pytest.skip("starting SLURM (.ci/slurm-up.sh) needs root")
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        pytest.skip("SLURM is not installed and apt-get is not available to install it")
    up = bounded(["bash", str(CI_DIR / "slurm-up.sh")], 900)
    if up.returncode != 0 or not _slurm_answers():
        pytest.fail(f".ci/slurm-up.sh failed (rc {up.returncode}):\n{up.stdout}\n{up.stderr}")
    try:
        yield "started"
    finally:
        bounded(["bash", str(CI_DIR / "slurm-down.sh")], 120)


@pytest.fixture(scope="module")
def slurm_study(slurm, tmp_path_factory):
    """The tiny study, run with the project's profile and only local overrides."""
    workdir = tmp_path_factory.mktemp("slurm-study")
    config = tiny_study_config(
        grid={
            "models": ["tiny"],
            "intermediate": ["none", "mnli"],
            "targets": ["xnli"],
            "seeds": [1],
        }
    )
    # this cluster: CPUs only, partition `debug`, small memory (the per-model table and the
    # site section are what a user of a CPU cluster would write)
    config["models"]["tiny"].update(gpus=0, mem_gb=2, runtime_h=0.5)
    config["cluster"] = {"partition": "debug", "cpu_mem_gb": 1, "cpu_runtime_h": 0.25}
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config))
    cmd = [
        "snakemake",
        "-s",
        str(REPO / "workflow" / "Snakefile"),
        "--profile",
        str(PROFILE),
        "--configfile",
        "tiny.yaml",
        # local overrides: no accounting database here, so poll with squeue; fail fast
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-keep-successful-logs",
        "--retries",
        "0",
    ]
    start = time.monotonic()
    run = bounded(cmd, E2E_TIMEOUT_S, cwd=workdir, env=env())
    elapsed = time.monotonic() - start
    out = run.stdout + run.stderr
    (workdir / "snakemake.out").write_text(out)
    # SLURM job id -> rule, from the executor's report of each submission
    submitted = {
        int(m[1]): m[2]
        for m in re.finditer(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/", out)
    }
    if run.returncode != 0:
        # leave nothing behind: cancel the jobs this run submitted, by id
        if submitted:
            bounded(["scancel", *map(str, submitted)], 30)
        pytest.fail(f"SLURM run failed (rc {run.returncode}, {elapsed:.0f} s):\n{out[-4000:]}")
    print(f"SLURM study: {len(submitted)} jobs in {elapsed:.0f} s")
    return workdir, config, submitted, out


def test_slurm_study_results(slurm_study):
    workdir, _, submitted, _ = slurm_study
    results = workdir / "results" / "tiny" / "tiny"
    for name in ("scores.parquet", "transfer_matrix.csv", "transfer_matrix.png"):
        assert (results / name).stat().st_size > 0
    for inter in ("none", "mnli"):
        metrics = json.loads((results / inter / "xnli" / "seed1" / "metrics.json").read_text())
        assert metrics
    # every job but `all` and the light `score` (a local rule) was a SLURM job
    assert sorted(submitted.values()) == sorted(
        [
            "build_tokenizer",
            "build_model",
            "aggregate",
            "report_tables",
            "analyse_volume",
            "train_intermediate",
        ]
        + ["prepare_data", "tokenize"] * 2
        + ["finetune"] * 2
    )


def test_every_manifest_names_its_slurm_job(slurm_study):
    """The provenance of each result records the SLURM job that made it (SLURM_JOB_ID)."""
    workdir, _, submitted, _ = slurm_study
    manifests = sorted((workdir / "results").rglob("manifest.json"))
    rules = set()
    assert len(manifests) >= 6
    for path in manifests:
        m = json.loads(path.read_text())
        if m["rule"] == "score":  # a local rule: runs where Snakemake runs
            continue
        assert m["slurm"] and m["slurm"]["partition"] == "debug", path
        assert submitted.get(int(m["slurm"]["job_id"])) == m["rule"], (path, m["slurm"])
        rules.add(m["rule"])
    assert {"train_intermediate", "finetune", "aggregate"} <= rules
    # distinct jobs made distinct results (a kept model's manifest is its fine-tuning job's)
    records = {m["run_id"]: m for m in map(json.loads, (p.read_text() for p in manifests))}
    ids = [m["slurm"]["job_id"] for m in records.values() if m["rule"] != "score"]
    assert len(set(ids)) == len(ids)


def test_slurm_saw_the_jobs_complete(slurm_study):
    workdir, _, submitted, _ = slurm_study
    ids = sorted(submitted)
    q = bounded(["squeue", "--states=all", "-h", "-o", "%i %T", "-j", ",".join(map(str, ids))], 30)
    states = dict(line.split() for line in q.stdout.splitlines())
    assert states == {str(i): "COMPLETED" for i in ids}, q.stdout + q.stderr
    if SLURMCTLD_LOG.is_file():
        log = SLURMCTLD_LOG.read_text(errors="replace")
        for i in ids:
            assert f"_job_complete: JobId={i} WEXITSTATUS 0" in log, i
    # the executor's own per-job logs, one per SLURM job
    logs = {int(p.stem) for p in (workdir / ".snakemake" / "slurm_logs").rglob("*.log")}
    assert logs == set(ids)


def test_slurm_jobs_got_the_per_model_resources(slurm_study):
    """What SLURM granted the training job is what the per-model table says."""
    _, config, submitted, _ = slurm_study
    model = config["models"]["tiny"]
    train = [i for i, rule in submitted.items() if rule == "train_intermediate"]
    assert len(train) == 1, submitted
    show = bounded(["scontrol", "show", "job", str(train[0])], 30)
    assert show.returncode == 0, show.stderr
    info = show.stdout
    assert "Partition=debug" in info, info
    assert f"TimeLimit=00:{math.ceil(model['runtime_h'] * 60):02d}:00" in info, info
    assert re.search(rf"\bmem={model['mem_gb']}G\b|MinMemoryNode={model['mem_gb']}G", info), info
    assert "gres/gpu" not in info, info


def _status(workdir: Path, *args: str) -> tuple[str, dict]:
    """`xstilts status` of a study directory: its text and its JSON."""
    cmd = [sys.executable, "-m", "xstilts", "status", "--configfile", "tiny.yaml", *args]
    text = bounded(cmd, 120, cwd=workdir, env=env())
    assert text.returncode == 0, text.stderr[-2000:]
    js = bounded([*cmd, "--json"], 120, cwd=workdir, env=env())
    assert js.returncode == 0, js.stderr[-2000:]
    return text.stdout, json.loads(js.stdout)


@pytest.fixture(scope="module")
def slurm_failed_cell(slurm_study):
    """After the study: the `none` cell's fine-tuning run again through SLURM on a bad data file
    (its tokenised training data overwritten), so it fails; the `mnli` cell stays done."""
    workdir, _, _, _ = slurm_study
    for arrow in (workdir / "resources" / "cache" / "tiny").glob("*/xnli/**/*.arrow"):
        arrow.write_bytes(b"not an arrow file\n")
    target = "results/tiny/tiny/none/xnli/seed1/predictions"
    cmd = ["snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--profile", str(PROFILE),
           "--configfile", "tiny.yaml", "--slurm-status-command", "squeue",
           "--slurm-init-seconds-before-status-checks", "2", "--retries", "0",
           "--forcerun", "finetune", "--allowed-rules", "finetune", "--", target]  # fmt: skip
    run = bounded(cmd, 300, cwd=workdir, env=env())
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    ids = [int(m) for m in re.findall(r"submitted with SLURM jobid (\d+)", out)]
    assert len(ids) == 1, out[-3000:]
    return workdir, ids[0]


def test_status_shows_done_and_failed_cells_with_slurm_state(slurm_failed_cell):
    """The done cell with its score; the failed one with its SLURM job, state and exit code,
    its log's path and the error line; the progress line; the JSON carries the same."""
    workdir, job = slurm_failed_cell
    text, report = _status(workdir)
    cells = {c["inter"]: c for c in report["cells"]}
    done, failed = cells["mnli"], cells["none"]
    assert done["state"] == "done" and isinstance(done["score"], float), done
    assert f"done {done['score']:.1f}" in text, text
    assert failed["state"] == "failed" and failed["retried"], failed  # its first run, then this
    attempt = failed["job"]["attempts"][-1]
    assert attempt == {"job_id": job, "state": "FAILED", "exit_code": "1:0"}, attempt
    log = "logs/tiny/finetune/tiny/none/xnli/seed1.log"
    assert failed["job"]["log"] == log and failed["job"]["error"], failed
    error = failed["job"]["error"][-1]
    assert error.startswith("pyarrow.lib.ArrowInvalid: "), failed["job"]["error"]
    assert "FAILED finetune SLURM FAILED exit 1:0" in text, text
    assert f"log: {log}" in text and f"| {error}" in text and f"{job})" in text, text
    assert re.search(r"^progress: \d+/\d+ jobs done, 0 running, 1 failed; .* GPU-h left", text,
                     re.M), text  # fmt: skip
    assert report["progress"]["failed"] == 1


# --- time limits, requeue and preemption of training jobs through a real SLURM ----------------

LIMITS_TIMEOUT_S = 1200
INTERMEDIATES = ("mnli", "multitask")


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _latest_checkpoint(folder: Path) -> int:
    from xstilts import train

    steps = [int(p.name.split("-")[1]) for p in folder.glob("checkpoint-*")
             if train.incomplete(p) is None]  # fmt: skip
    return max(steps, default=0)


@pytest.fixture(scope="module")
def slurm_limits(slurm, tmp_path_factory):
    """Two training jobs (single-task `mnli`, `multitask`) with a two-minute time limit they cannot
    train within (slowed by XSTILTS_TEST_STEP_DELAY), submitted once data and tokenisation ran
    locally; while they run, one is requeued with
    `scontrol requeue` and the other sent `scancel --signal=TERM`. Then the same jobs run
    uninterrupted, locally, for the reference weights."""
    import threading

    workdir = tmp_path_factory.mktemp("slurm-limits")
    config = tiny_study_config(
        grid={
            "models": ["tiny"],
            "intermediate": list(INTERMEDIATES),
            "targets": ["xnli"],
            "seeds": [1],
        },  # fmt: skip
    )
    config["hparams"]["intermediate"] = {"max_steps": 40, "checkpoint_steps": 4}
    config["data"]["synthetic"] = {"train_size": 24, "eval_size": 4}
    config["models"]["tiny"].update(gpus=0, mem_gb=2, runtime_h=2 / 60)  # 2 minutes
    config["cluster"] = {
        "partition": "debug",
        "cpu_mem_gb": 1,
        "cpu_runtime_h": 0.25,
        "save_margin_min": 1.4,  # save and exit 84 s before the limit
        "signal_margin_min": 0.2,  # USR1 12 s (to 72 s: SLURM's resolution) before it
    }
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config))
    targets = [f"results/tiny/tiny/intermediate/{i}/seed1/encoder" for i in INTERMEDIATES]
    # data and tokenisation (19 short jobs) run locally first: only training goes through SLURM
    snakemake(workdir, "--omit-from", "train_intermediate", *targets, **_killed_after(600))
    e = dict(env(), OMP_NUM_THREADS="1", XSTILTS_TEST_STEP_DELAY="1")  # 40+ s of training
    cmd = ["snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--profile", str(PROFILE),
           "--configfile", "tiny.yaml", "--slurm-status-command", "squeue",
           "--slurm-init-seconds-before-status-checks", "2", "--retries", "5", "--verbose",
           *targets]  # fmt: skip
    out_file = workdir / "snakemake.out"
    proc = subprocess.Popen(
        ["timeout", "-s", "KILL", str(LIMITS_TIMEOUT_S), *cmd],
        stdout=out_file.open("w"), stderr=subprocess.STDOUT, cwd=workdir, env=e,
    )  # fmt: skip
    submissions = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)")
    actions: dict[str, tuple[str, int, int]] = {}  # intermediate -> (action, job id, step)

    def intervene():
        """Requeue `mnli` and preempt `multitask` in their first attempts, once each has written
        a checkpoint (the time limit then stops their later attempts)."""
        plan = {"mnli": ("requeue", 1), "multitask": ("scancel", 1)}
        while proc.poll() is None and len(actions) < len(plan):
            jobs = {}
            for m in submissions.finditer(out_file.read_text(errors="replace")):
                for inter in plan:
                    if f"rule_train_intermediate/tiny_{inter}_1/" in m[2]:
                        jobs.setdefault(inter, []).append(int(m[1]))
            for inter, (action, attempt) in plan.items():
                ids = jobs.get(inter, [])
                if inter in actions or len(ids) < attempt:
                    continue
                job = ids[attempt - 1]
                state = bounded(["squeue", "-h", "-j", str(job), "-o", "%T"], 30).stdout.strip()
                ckpt = workdir / "checkpoints" / "tiny" / "intermediate" / "tiny" / inter / "seed1"
                log = (
                    workdir / "logs" / "tiny" / "train_intermediate" / "tiny" / inter / "seed1.log"
                )
                text = log.read_text(errors="replace") if log.exists() else ""
                resumed = re.findall(r"\(step (\d+)\)", text)
                if attempt > 1 and not resumed:  # the log is still the previous attempt's
                    continue
                start = int(resumed[-1]) if resumed else 0
                if (
                    state == "RUNNING"
                    and "training on" in text
                    and (_latest_checkpoint(ckpt) > start)
                ):
                    if action == "requeue":
                        bounded(["scontrol", "requeue", str(job)], 30)
                    else:
                        bounded(["scancel", "--signal=TERM", str(job)], 30)
                    actions[inter] = (action, job, _latest_checkpoint(ckpt))
            time.sleep(1)

    watcher = threading.Thread(target=intervene, daemon=True)
    watcher.start()
    start = time.monotonic()
    rc = proc.wait()
    elapsed = time.monotonic() - start
    watcher.join(timeout=10)
    out = out_file.read_text(errors="replace")
    submitted = {int(m[1]): m[2] for m in submissions.finditer(out)}
    if rc != 0:
        if submitted:
            bounded(["scancel", *map(str, submitted)], 30)
        pytest.fail(f"SLURM run failed (rc {rc}, {elapsed:.0f} s):\n{out[-5000:]}")
    print(f"SLURM limits run: {len(submitted)} jobs in {elapsed:.0f} s; {actions}")
    train_logs = workdir / "logs" / "tiny" / "train_intermediate" / "tiny"
    logs = {i: (train_logs / i / "seed1.log").read_text() for i in INTERMEDIATES}
    sums = {
        i: _sha256(workdir / t / "model.safetensors")
        for i, t in zip(INTERMEDIATES, targets, strict=True)
    }

    # the reference: the same jobs, uninterrupted, not slowed, off SLURM
    for t in targets:
        shutil.move(workdir / t, workdir / f"{t}.slurm")
    snakemake(workdir, *targets, **_killed_after(600, OMP_NUM_THREADS="1"))
    reference = {
        i: _sha256(workdir / t / "model.safetensors")
        for i, t in zip(INTERMEDIATES, targets, strict=True)
    }
    return dict(out=out, submitted=submitted, actions=actions, logs=logs, sums=sums,
                reference=reference, config=config, workdir=workdir)  # fmt: skip


@pytest.mark.parametrize("inter", INTERMEDIATES)
def test_interrupted_training_resumes_to_the_uninterrupted_weights(slurm_limits, inter):
    r = slurm_limits
    assert r["sums"][inter] == r["reference"][inter], r["logs"][inter][-3000:]
    # the last attempt resumed from a checkpoint saved at a stop, not only at a regular one
    resumed = [int(s) for s in re.findall(r"resuming from checkpoint \S+ \(step (\d+)\)",
                                          r["logs"][inter])]  # fmt: skip
    assert resumed, r["logs"][inter][-3000:]


def test_time_limit_saves_before_the_limit_and_retries_within_it(slurm_limits):
    """The first attempt of each job ran out of time: it saved and exited on its own (FAILED,
    exit code 75 of the training), it was not killed by SLURM (TIMEOUT); every retry got the
    same two-minute limit (cluster.max_runtime_h defaults to the first attempt's)."""
    r = slurm_limits
    jobs = {i: sorted(j for j, log in r["submitted"].items() if f"/tiny_{i}_1/" in log)
            for i in INTERMEDIATES}  # fmt: skip
    for inter, ids in jobs.items():
        assert len(ids) >= 2, (inter, r["out"][-3000:])  # retried by Snakemake
        states = {}
        for job in ids:
            show = bounded(["scontrol", "show", "job", str(job)], 30).stdout
            assert "TimeLimit=00:02:00" in show, show
            states[job] = re.search(r"JobState=(\w+)", show)[1]
        assert "TIMEOUT" not in states.values(), states
        assert states[ids[-1]] == "COMPLETED" and "FAILED" in states.values(), states
    # the sbatch line of every training job asked for the warning signal
    sbatch = [
        line for line in r["out"].splitlines() if "sbatch" in line and "train_intermediate" in line
    ]
    assert sbatch and all("--signal=B:USR1@12" in line for line in sbatch), sbatch[:2]


def test_requeue_and_scancel_term_resume(slurm_limits):
    """`scontrol requeue` (same job id, started again) and `scancel --signal=TERM` (the job
    saves, exits 75, Snakemake retries it) both resume from a checkpoint."""
    r = slurm_limits
    assert set(r["actions"]) == {"mnli", "multitask"}, r["actions"]
    for inter, (action, _, step) in r["actions"].items():
        resumed = [int(s) for s in re.findall(r"\(step (\d+)\)", r["logs"][inter])]
        assert resumed and resumed[-1] >= step, (inter, action, resumed, step)
    _, requeued, _ = r["actions"]["mnli"]
    show = bounded(["scontrol", "show", "job", str(requeued)], 30).stdout
    assert re.search(r"Restarts=[1-9]", show), show


def test_status_shows_the_timed_out_jobs_as_retried(slurm_limits):
    """Each intermediate job ran out of time and was retried: `status` lists its SLURM
    attempts, the first FAILED (the job saved and exited before the limit), the last COMPLETED,
    and marks its cells retried."""
    text, report = _status(slurm_limits["workdir"])
    for cell in report["cells"]:
        assert cell["retried"] and cell["state"] == "waiting", cell  # on its fine-tuning
        assert cell["waiting_on"].startswith("finetune/"), cell
    assert text.count("(retried)") == len(INTERMEDIATES), text
    for inter in INTERMEDIATES:  # every attempt, the last one COMPLETED
        line = f"retried {inter}/xnli/seed1: train_intermediate/tiny/{inter}/seed1 (SLURM "
        assert re.search(rf"{re.escape(line)}\d+ FAILED .*, \d+ COMPLETED 0:0\)", text), text
    requeued = [a for c in report["cells"] for r in c["retried"] for a in r["attempts"]
                if a.get("restarts")]  # fmt: skip
    assert [a["job_id"] for a in requeued] == [slurm_limits["actions"]["mnli"][1]], requeued
    assert re.search(r"^progress: \d+/\d+ jobs done, .*GPU-h left", text, re.M), text
