"""`xstilts status` on a study caught mid-run: the files Snakemake, its SLURM executor and the
training jobs leave (a finished study is checked in test_workflow.py, SLURM in test_slurm.py)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

import yaml
from conftest import tiny_study_config

from xstilts import curves, status

ERROR = "xstilts finetune: error: resources/data/xnli/train.jsonl: line 3: expected a 'label'"


def _mid_run(root):
    """mnli's intermediate job running (step 2 of 4, its live curve file beside its checkpoints);
    none/xnli fine-tuning failed twice (two SLURM attempts), its log ending in the error."""
    config = tiny_study_config(
        grid={
            "models": ["tiny"],
            "intermediate": ["none", "mnli"],
            "targets": ["xnli"],
            "seeds": [1],
        }  # fmt: skip
    )
    config["study"] = "tiny"  # as config.load names the study of tiny.yaml
    (root / "tiny.yaml").write_text(yaml.safe_dump(config))
    encoder = "results/tiny/tiny/intermediate/mnli/seed1/encoder"
    marker = base64.urlsafe_b64encode(encoder.encode()).decode()
    (root / ".snakemake" / "incomplete").mkdir(parents=True)
    (root / ".snakemake" / "incomplete" / marker).write_text("")
    staged = root / "checkpoints/tiny/intermediate/tiny/mnli/seed1"
    staged.mkdir(parents=True)
    now = time.time()
    records = [
        {"event": "start", "step": 0, "max_steps": 4, "time": now - 20},
        {"loss": 1.1, "learning_rate": 1e-3, "grad_norm": 2.0, "step": 2, "time": now - 10},
    ]
    (staged / curves.FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    log = root / "logs/tiny/finetune/tiny/none/xnli/seed1.log"
    log.parent.mkdir(parents=True)
    log.write_text(f"INFO loading\nTraceback (most recent call last):\n  File x\n{ERROR}\n")
    slurm = root / ".snakemake/slurm_logs/rule_finetune/tiny_none_xnli_1"
    slurm.mkdir(parents=True)
    for job in (101, 102):
        (slurm / f"{job}.log").write_text("Error in rule finetune\n")
    return config


def test_status_mid_run_says_what_runs_what_failed_and_why(tmp_path):
    from xstilts import config as cfg
    from xstilts.study import Study

    config = _mid_run(tmp_path)
    report = status.collect(Study(cfg.validate(config)), tmp_path, use_slurm=False)
    cells = {c["inter"]: c for c in report["cells"]}
    failed, running = cells["none"], cells["mnli"]
    assert failed["state"] == "failed" and failed["retried"]
    job = failed["job"]
    assert job["rule"] == "finetune" and job["log"] == "logs/tiny/finetune/tiny/none/xnli/seed1.log"
    assert job["error"][-1] == ERROR
    assert [a["job_id"] for a in job["attempts"]] == [101, 102]
    assert running["state"] == "running" and running["job"]["rule"] == "train_intermediate"
    p = running["job"]["progress"]
    assert p["step"] == 2 and p["total"] == 4 and 9 < p["eta_s"] < 11
    live = "checkpoints/tiny/intermediate/tiny/mnli/seed1/curves.jsonl"
    assert running["job"]["curves"] == live
    assert report["progress"]["failed"] == 1 and report["progress"]["running"] == 1
    assert report["progress"]["done"] == 0 and report["progress"]["jobs"] == 5

    out = subprocess.run(
        [sys.executable, "-m", "xstilts", "status", "--configfile", "tiny.yaml", "--no-slurm"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "running train_intermediate step 2/4 ETA 0:00:" in text, text
    assert "FAILED finetune" in text and "log: logs/tiny/finetune/tiny/none/xnli/seed1.log" in text
    assert f"| {ERROR}" in text and "(SLURM job 101, 102)" in text, text
    assert "progress: 0/5 jobs done, 1 running, 1 failed" in text, text
    assert "curves checkpoints/tiny/intermediate/tiny/mnli/seed1/curves.jsonl" in text


def test_a_curve_file_cut_off_by_a_killed_job_still_reads(tmp_path):
    path = tmp_path / curves.FILE
    path.write_text('{"event": "start", "step": 0, "max_steps": 10, "time": 0}\n{"loss": 1.0, "st')
    records = curves.read(path)
    assert len(records) == 1 and curves.progress(records) == {"step": 0, "total": 10}


def test_a_model_trained_before_the_target_counts_once_fine_tuning_is_done(tmp_path):
    """XCOPA's model trains on SIQa first; that model is a temporary output, deleted when the
    fine-tuning job ends: the cell then waits on scoring, not on the deleted model."""
    from xstilts import config as cfg
    from xstilts.study import Study

    config = tiny_study_config(
        grid={"models": ["tiny"], "intermediate": ["none"], "targets": ["xcopa"], "seeds": [1]},
        study="tiny",
    )
    study = Study(cfg.validate(config))
    (tmp_path / "results/tiny/tiny/none/xcopa/seed1/predictions").mkdir(parents=True)
    (cell,) = status.collect(study, tmp_path, use_slurm=False)["cells"]
    assert cell["state"] == "waiting" and cell["waiting_on"] == "score/tiny/none/xcopa/seed1"
    (tmp_path / "results/tiny/tiny/none/xcopa/seed1/predictions").rmdir()
    (cell,) = status.collect(study, tmp_path, use_slurm=False)["cells"]
    assert cell["waiting_on"] == "train_before_target/tiny/none/xcopa/seed1/siqa", cell
