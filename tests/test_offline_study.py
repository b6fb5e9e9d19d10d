"""A tiny study end to end from a fixture hub mirror with the network namespace removed
(``unshare -n``: no connection can be opened), against the same data as original files.

The demo encoder is saved into the mirror as a model repository pinned to a commit, the data sets
are tests/hub_mirror.py's fixture repositories; two intermediate tasks, three targets (sentence
pairs, span QA, retrieval). ``data.source: hub`` and ``data.source: local`` (the slices the
fixtures were built from) give the same metrics, and ``xstilts explain`` names the commits.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml
from conftest import SHARED_DATA, snakemake
from hub_mirror import build_mirror

from xstilts import hub

MODEL_REPO = "xstilts-test/tiny-xlmr"
COMMIT = "5eed0000000000000000000000000000000000aa"
INTERMEDIATE = ["mnli", "squad_v1"]
TARGETS = ["pawsx", "xquad", "tatoeba"]
# the original files the fixture repositories were built from, where the registry's default
# paths are not the slices' (the slices hold dev files: they serve every split here)
LOCAL_FILES = {
    "pawsx": {s: "pawsx/dev-{lang}.tsv" for s in ("train", "validation", "test")},
    "squad_v1": {s: "squad/dev-v1.1.json" for s in ("train", "validation")},
}


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _unshare_works(), reason="unshare -n is not permitted here"),
]


def _config(mirror, source: str) -> dict:
    data = {"source": source, "max_eval_examples": 8}
    if source == "local":
        data.update(root=str(SHARED_DATA), tasks={t: {"files": f} for t, f in LOCAL_FILES.items()})
    return {
        "models": {"tiny": {"hub": MODEL_REPO, "revision": COMMIT, "gpus": 0}},
        "grid": {
            "models": ["tiny"],
            "intermediate": INTERMEDIATE,
            "targets": TARGETS,
            "seeds": [1],
        },
        "data": data,
        "hub": {"mirror": str(mirror)},
        "hparams": {
            "all": {
                "learning_rate": 1e-3,
                "batch_size": 8,
                "max_length": 128,
                "max_steps": 2,
                "eval_steps": 2,
                "max_train_examples": 32,
            }
        },
    }


def _run_offline(workdir, config: dict):
    workdir.mkdir()
    (workdir / "study.yaml").write_text(yaml.safe_dump(config))
    target = "results/study/tiny/transfer_matrix.csv"
    return snakemake(workdir, target, configfile="study.yaml", prefix=("unshare", "-n"))


def _metrics(workdir) -> dict:
    out = {}
    for inter in INTERMEDIATE:
        for target in TARGETS:
            path = workdir / f"results/study/tiny/{inter}/{target}/seed1/metrics.json"
            out[inter, target] = json.loads(path.read_text())["results"]
    return out


def test_tiny_study_offline_from_the_mirror_matches_local_files(tmp_path, tiny_model, shared_data):
    mirror = tmp_path / "mirror"
    build_mirror(mirror, tasks=[*INTERMEDIATE, *TARGETS])
    shutil.copytree(tiny_model, hub.model_dir(mirror, MODEL_REPO, COMMIT))  # filled by hand

    from_hub = _run_offline(tmp_path / "hub", _config(mirror, "hub"))
    assert "download" in from_hub.stdout + from_hub.stderr  # verified the hand-filled mirror
    local = _run_offline(tmp_path / "local", _config(mirror, "local"))
    assert "rule prepare_data" in local.stdout + local.stderr

    hub_metrics, local_metrics = _metrics(tmp_path / "hub"), _metrics(tmp_path / "local")
    assert hub_metrics == local_metrics
    assert set(hub_metrics["mnli", "xquad"]["test"]) >= {"en", "de", "zh"}  # every language

    explain = subprocess.run(
        [
            "xstilts",
            "explain",
            "results/study/tiny/transfer_matrix.csv",
            "--row",
            "mnli",
            "--col",
            "xquad",
        ],
        cwd=tmp_path / "hub",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert explain.returncode == 0, explain.stderr
    assert f"repo={MODEL_REPO}" in explain.stdout and f"commit={COMMIT}" in explain.stdout
    assert "repo=google/xtreme" in explain.stdout and "repo=rajpurkar/squad" in explain.stdout
