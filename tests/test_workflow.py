"""The real workflow: Snakemake runs a tiny study end to end, then re-runs only what is missing."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, tiny_study_config

from xstilts import provenance, registry


def snakemake(workdir, *args, timeout=900):
    run = subprocess.run(
        ["snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout + run.stderr


def planned(workdir, configfile) -> dict[str, int]:
    """Job counts per rule of a dry run."""
    out = snakemake(workdir, "-n", "--configfile", configfile)
    table = out.split("Job stats:")[1] if "Job stats:" in out else ""
    return {
        m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"
    }


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("study")
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(tiny_study_config()))
    snakemake(workdir, "--configfile", "tiny.yaml")
    return workdir


def test_outputs_and_provenance(study):
    results = study / "results" / "tiny"
    for name in ("scores.parquet", "transfer_matrix.csv", "transfer_matrix.png"):
        assert (results / name).stat().st_size > 0
    rows = pq.read_table(results / "scores.parquet").to_pylist()
    cells = list(csv.DictReader(open(results / "transfer_matrix.csv")))
    assert {(c["intermediate"], c["target"]) for c in cells} == {
        (i, t) for i in ("none", "mnli") for t in ("xnli", "udpos")
    }
    # every number traces to the manifest of the job that produced it
    for cell in cells:
        (run_id,) = cell["run_ids"].split(";")
        manifest = json.loads(
            (
                results / cell["intermediate"] / cell["target"] / "seed1" / "manifest.json"
            ).read_text()
        )
        assert manifest["run_id"] == run_id and manifest["rule"] == "evaluate"
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
    for target in ("xnli", "udpos"):
        langs = {r["lang"] for r in rows if r["target"] == target and r["split"] == "test"}
        assert langs == set(registry.get(target).languages)
    # the chain continues: metrics -> target model -> intermediate encoder -> caches -> data
    m = json.loads((results / "mnli" / "xnli" / "seed1" / "manifest.json").read_text())
    model_manifest = provenance.read_manifest(study / m["inputs"][0]["path"])
    assert model_manifest["rule"] == "train_target"
    encoder = [i for i in model_manifest["inputs"] if "intermediate" in i["path"]]
    assert encoder and provenance.read_manifest(study / encoder[0]["path"])["rule"] == (
        "train_intermediate"
    )
    # no temporary names are left behind
    assert not list(study.rglob(".*.tmp*"))


def test_nothing_to_do_then_exact_reruns(study):
    assert planned(study, "tiny.yaml") == {}
    (study / "results/tiny/none/udpos/seed1/metrics.json").unlink()
    assert planned(study, "tiny.yaml") == {
        "evaluate": 1,
        "aggregate": 1,
        "report_tables": 1,
        "analyse_volume": 1,
        "all": 1,
    }
    snakemake(study, "--configfile", "tiny.yaml")
    shutil.rmtree(study / "results/tiny/intermediate/mnli/seed1/encoder")
    assert planned(study, "tiny.yaml") == {
        "train_intermediate": 1,
        "train_target": 2,
        "evaluate": 2,
        "aggregate": 1,
        "report_tables": 1,
        "analyse_volume": 1,
        "all": 1,
    }


def test_full_grid_plans_one_intermediate_job_per_task_and_seed(tmp_path):
    counts = planned(tmp_path, str(REPO / "config" / "config.yaml"))
    full = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["grid"]
    trained = [i for i in full["intermediate"] if i != "none"]
    assert counts["train_intermediate"] == len(trained) * len(full["seeds"])
    n_trained_targets = sum(registry.trains(t) for t in full["targets"])
    assert counts["train_target"] == len(full["intermediate"]) * n_trained_targets * len(
        full["seeds"]
    )
    assert "build_model" not in counts  # hub models are loaded, not built
