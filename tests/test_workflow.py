"""The real workflow: Snakemake runs a tiny study end to end, then re-runs only what is missing."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, planned, snakemake, tiny_study_config

from xstilts import provenance, registry

# every job's log records what it imported (python -X importtime writes to stderr)
IMPORTTIME = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The tiny study, run from a copy of the workflow and package (a test edits a metric)."""
    workdir = tmp_path_factory.mktemp("study")
    repo = workdir / "repo"
    repo.mkdir()
    for folder in ("workflow", "config", "src/xstilts"):
        shutil.copytree(REPO / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    config = tiny_study_config(keep_target_models=False)
    config["grid"]["targets"].append("bucc")  # a retrieval target: scored from its rows too
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config))
    snakemake(workdir, configfile="tiny.yaml", repo=repo, env=IMPORTTIME)
    return workdir


def run(study, *args):
    return snakemake(study, *args, configfile="tiny.yaml", repo=study / "repo", env=IMPORTTIME)


def test_outputs_and_provenance(study):
    results = study / "results" / "tiny" / "tiny"
    for name in ("scores.parquet", "transfer_matrix.csv", "transfer_matrix.png"):
        assert (results / name).stat().st_size > 0
    rows = pq.read_table(results / "scores.parquet").to_pylist()
    cells = list(csv.DictReader(open(results / "transfer_matrix.csv")))
    assert {(c["intermediate"], c["target"]) for c in cells} == {
        (i, t) for i in ("none", "mnli") for t in ("xnli", "udpos", "bucc")
    }
    # every number traces to the manifest of the job that produced it
    for cell in cells:
        (run_id,) = cell["run_ids"].split(";")
        manifest = json.loads(
            (
                results / cell["intermediate"] / cell["target"] / "seed1" / "manifest.json"
            ).read_text()
        )
        assert manifest["run_id"] == run_id and manifest["rule"] == "score"
        assert manifest["wildcards"] == {
            "model": "tiny",
            "inter": cell["intermediate"],
            "target": cell["target"],
            "seed": "1",
        }
        assert all("manifest_sha256" in i for i in manifest["inputs"])
        assert {"git", "packages", "host", "started", "finished", "log"} <= set(manifest)
    assert {r["run_id"] for r in rows} == {c["run_ids"] for c in cells}
    # every language of each target is scored
    for target in ("xnli", "udpos", "bucc"):
        langs = {r["lang"] for r in rows if r["target"] == target and r["split"] == "test"}
        assert langs == set(registry.get(target).languages)
    # the chain continues: metrics -> predictions (fine-tuning job) -> intermediate encoder
    m = json.loads((results / "mnli" / "xnli" / "seed1" / "manifest.json").read_text())
    finetune = provenance.read_manifest(study / m["inputs"][0]["path"])
    assert finetune["rule"] == "finetune" and finetune["summary"]["global_step"] == 4
    encoder = [i for i in finetune["inputs"] if "intermediate" in i["path"]]
    assert encoder and provenance.read_manifest(study / encoder[0]["path"])["rule"] == (
        "train_intermediate"
    )
    # no temporary names are left behind
    assert not list(study.rglob(".*.tmp*"))


def test_scores_from_saved_predictions_equal_the_jobs_own(study):
    """``score`` reads only the prediction files, and gets what the fine-tuning job scored from
    its logits (or the retrieval job from its mined pairs); the fine-tuning job leaves no model
    behind (keep_target_models is false)."""
    runs = list((study / "results/tiny/tiny").glob("*/*/seed1/predictions"))
    assert len(runs) == 6
    for predictions in runs:
        scored = provenance.read_manifest(predictions)["summary"]["scored_in_job"]
        metrics = json.loads((predictions.parent / "metrics.json").read_text())
        assert metrics["results"] == scored and scored["test"]
        assert not (predictions.parent / "model").exists()
    assert not [p for p in (study / "results").rglob("*") if p.name.startswith(".model-")]


HEAVY = {"torch", "transformers"}


def imported(text: str) -> set[str]:
    """Top-level packages named in ``python -X importtime`` output."""
    lines = (line for line in text.splitlines() if line.startswith("import time:"))
    return {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in lines}


def test_light_jobs_import_neither_torch_nor_transformers(study):
    for rule in ("prepare_data", "score", "aggregate", "report_tables"):
        # a shared artefact's job logs under logs/<rule>, a study's job under logs/<study>/<rule>
        logs = list((study / "logs" / rule).rglob("*.log"))
        logs += list((study / "logs" / "tiny" / rule).rglob("*.log"))
        assert logs, rule
        for log in logs:
            assert not HEAVY & imported(log.read_text()), log
    # tokenising reads the tokenizer through transformers, never through torch
    for log in (study / "logs" / "tokenize").rglob("*.log"):
        assert "torch" not in imported(log.read_text()), log
    # the measurement sees heavy imports where there are some
    finetune = next((study / "logs" / "tiny" / "finetune").rglob("*.log")).read_text()
    assert HEAVY <= imported(finetune)
    # the launcher (no GPU, or none visible) and the tools people run by hand
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    for command in (
        ["-m", "xstilts.launch", "--gpus", "0", "--dry-run", "--", "--task", "xnli"],
        ["-m", "xstilts.launch", "--gpus", "2", "--dry-run", "--", "--task", "xnli"],
        ["-m", "xstilts", "check-config", "tiny.yaml"],
        ["-m", "xstilts", "estimate", "--configfile", str(REPO / "config/config.yaml")],
        [
            "-m",
            "xstilts",
            "explain",
            "results/tiny/tiny/transfer_matrix.csv",
            "--row",
            "mnli",
            "--col",
            "xnli",
        ],
        ["-m", "xstilts", "verify", "results"],
    ):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", *command],
            cwd=study,
            capture_output=True,
            text=True,
            env=env,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        assert not HEAVY & imported(out.stderr), command


def test_status_of_the_finished_study(study):
    """`xstilts status` on finished results: every cell done with its score, in under a
    second, without torch; every training job left its curve file."""
    import time

    cmd = [sys.executable, "-X", "importtime", "-m", "xstilts", "status", "--configfile"]
    start = time.monotonic()
    out = subprocess.run([*cmd, "tiny.yaml"], cwd=study, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    assert out.returncode == 0, out.stderr[-2000:]
    assert elapsed < 1.0 and not HEAVY & imported(out.stderr), elapsed
    text = out.stdout
    assert not re.search(r"FAILED|waiting on|running \w", text), text
    assert re.search(r"progress: (\d+)/\1 jobs done, 0 running, 0 failed; .*; all done$", text), (
        text
    )
    report = json.loads(
        subprocess.run([*cmd, "tiny.yaml", "--json"], cwd=study, capture_output=True).stdout
    )
    cells = report["cells"]
    assert len(cells) == 6 and all(c["state"] == "done" for c in cells), cells
    assert all(isinstance(c["score"], float) for c in cells), cells
    for c in cells:
        assert f"done {c['score']:.1f}" in text
    for rule, name in (("train_intermediate", "encoder"), ("finetune", "predictions")):
        found = list((study / "results").rglob(f"{name}/curves.jsonl"))
        assert found, rule
        for path in found:
            manifest = json.loads((path.parent / "manifest.json").read_text())
            assert "curves.jsonl" in manifest["outputs"][str(path.parent.relative_to(study))]
            assert manifest["summary"]["curves"] == "curves.jsonl"


def test_nothing_to_do_then_exact_reruns(study):
    repo = study / "repo"
    assert planned(study, "tiny.yaml", repo=repo) == {}
    (study / "results/tiny/tiny/none/udpos/seed1/metrics.json").unlink()
    assert planned(study, "tiny.yaml", repo=repo) == {
        "score": 1,
        "aggregate": 1,
        "report_tables": 1,
        "analyse_volume": 1,
        "all": 1,
    }
    run(study)
    shutil.rmtree(study / "results/tiny/tiny/intermediate/mnli/seed1/encoder")
    assert planned(study, "tiny.yaml", repo=repo) == {
        "train_intermediate": 1,
        "finetune": 2,
        "retrieve": 1,
        "score": 3,
        "aggregate": 1,
        "report_tables": 1,
        "analyse_volume": 1,
        "all": 1,
    }
    run(study)


def test_a_changed_metric_rescores_every_cell_without_retraining(study):
    metric = study / "repo/src/xstilts/metrics/classification.py"
    text = metric.read_text()
    assert "return 100.0 * correct / len(references)" in text
    cell = study / "results/tiny/tiny/mnli/xnli/seed1"
    before = json.loads((cell / "metrics.json").read_text())["results"]["test"]
    finetuned = provenance.read_manifest(cell / "predictions")["run_id"]
    metric.write_text(text.replace("return 100.0 * correct", "return 1000.0 * correct"))
    # every cell's scorer code changed (metrics/ is shared); nothing is retrained
    assert planned(study, "tiny.yaml", repo=study / "repo") == {
        "score": 6,
        "aggregate": 1,
        "report_tables": 1,
        "analyse_volume": 1,
        "all": 1,
    }
    run(study)
    after = json.loads((cell / "metrics.json").read_text())["results"]["test"]
    assert after.keys() == before.keys()
    for lang in before:
        assert after[lang]["accuracy"] == pytest.approx(10 * before[lang]["accuracy"])
    assert provenance.read_manifest(cell / "predictions")["run_id"] == finetuned


def test_kept_target_models_are_outputs_of_the_fine_tuning_job(tmp_path):
    (tmp_path / "keep.yaml").write_text(yaml.safe_dump(tiny_study_config()))
    dry = snakemake(tmp_path, "-n", "-p", configfile="keep.yaml")
    assert "--out results/keep/tiny/mnli/xnli/seed1/model" in dry.stdout + dry.stderr


def test_full_grid_plans_one_intermediate_job_per_task_and_seed(tmp_path):
    counts = planned(tmp_path, str(REPO / "config" / "config.yaml"))
    full = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["grid"]
    trained = [i for i in full["intermediate"] if i != "none"]
    assert counts["train_intermediate"] == len(trained) * len(full["seeds"])
    n_trained_targets = sum(registry.trains(t) for t in full["targets"])
    assert counts["finetune"] == len(full["intermediate"]) * n_trained_targets * len(full["seeds"])
    # every cell is scored from its predictions, fine-tuned or retrieved
    assert counts["score"] == counts["finetune"] + counts["retrieve"] and "evaluate" not in counts
    assert "build_model" not in counts  # hub models are loaded, not built


def test_the_launcher_counts_gpus_from_the_environment(monkeypatch):
    from xstilts import launch

    for visible, n in (("0,1", 2), ("", 0), ("3", 1), ("0,-1,2", 1), ("GPU-5f2a,GPU-77c1", 2)):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
        assert launch.visible_gpus() == n, visible
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert launch.argv(0, 2, ["--task", "xnli"]) == ["xstilts", "train", "--task", "xnli"]
    cmd = launch.argv(2, 0, ["--task", "xnli"], command="finetune")
    assert cmd[:3] == ["torchrun", "--standalone", "--nproc_per_node=2"] and "finetune" in cmd
