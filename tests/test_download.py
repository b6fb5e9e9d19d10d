"""The download stage: one job per repository and revision, whatever the number of jobs that
read it, through the real ``huggingface_hub`` client against a stand-in hub on 127.0.0.1
(tests/hub_server.py); a hand-filled mirror verified without network; a compute job without the
mirror fails naming the missing file, not with a network error."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import snakemake
from hub_mirror import build_mirror
from hub_server import HubStandIn, commit_of

from xstilts import hub
from xstilts.config import load
from xstilts.study import Study

MODEL_REPO = "xstilts-test/tiny-xlmr"
CLOSED = "http://127.0.0.1:9"  # nothing listens there: any connection attempt fails at once


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_HUB_OFF", "HF_DATASETS"))}
    env.update(TOKENIZERS_PARALLELISM="false", DS_ACCELERATOR="cpu", **extra)
    return env


def _study(tmp_path, targets) -> str:
    config = {
        "models": {"tiny": {"hub": MODEL_REPO, "gpus": 0}},
        "grid": {"models": ["tiny"], "intermediate": ["none"], "targets": targets, "seeds": [1]},
        "data": {"source": "hub"},
        "hub": {"mirror": "mirror"},
        "hparams": {"all": {"max_length": 128}},
    }
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(config))
    return "study.yaml"


def _job_counts(stdout: str) -> dict[str, int]:
    table = stdout.split("Job stats:")[1].split("Reasons:")[0] if "Job stats:" in stdout else ""
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.fixture(scope="module")
def served_hub(tmp_path_factory, tiny_model):
    """A hub to serve: the fixture google/xtreme repository and the tiny model as a model repo."""
    root = tmp_path_factory.mktemp("hub")
    build_mirror(root, tasks=["pawsx", "xquad"])
    model = hub.model_dir(root, MODEL_REPO, "main")
    shutil.copytree(tiny_model, model)
    return root


@pytest.mark.slow
def test_download_once_per_repository_then_offline_jobs(tmp_path, served_hub):
    study = Study(load(tmp_path / _study(tmp_path, ["pawsx", "xquad"])))
    data = {t: study.data_dir(t) for t in ("pawsx", "xquad")}
    caches = {t: study.cache("tiny", t) for t in ("pawsx", "xquad")}
    targets = [*data.values(), *caches.values()]
    with HubStandIn(served_hub) as stand_in:
        env = _env(HF_ENDPOINT=stand_in.endpoint)
        run = snakemake(tmp_path, *targets, configfile="study.yaml", env=env, timeout=600)
        # four jobs read google/xtreme or the model: each repository was fetched once
        assert _job_counts(run.stdout + run.stderr)["download"] == 2
        assert stand_in.count("GET", "/api/datasets/google/xtreme/revision/main") == 1
        assert stand_in.count("GET", f"/api/models/{MODEL_REPO}/revision/main") == 1
        assert stand_in.count("GET", "/api/datasets/google/xtreme/tree/") == 1
        served = stand_in.count("GET", "/datasets/google/xtreme/resolve/")
    xtreme = tmp_path / "mirror/datasets/google/xtreme/main"
    record = json.loads((xtreme / "download.json").read_text())
    assert record["summary"]["commit"] == commit_of("google/xtreme", "main")
    assert record["summary"]["files"] == served  # each file fetched once, all recorded
    assert any(p.startswith("PAWS-X.") for p in record["params"]["patterns"])
    assert any(p.startswith("XQuAD.") for p in record["params"]["patterns"])
    # the compute jobs recorded the snapshot and commit they read (offline)
    tokenize = json.loads((tmp_path / caches["pawsx"] / "manifest.json").read_text())
    (model_input,) = [e for e in tokenize["inputs"] if "hub" in e]
    assert model_input["hub"]["repo"] == MODEL_REPO
    assert model_input["hub"]["commit"] == commit_of(MODEL_REPO, "main")
    data = json.loads((tmp_path / data["xquad"] / "manifest.json").read_text())
    assert [e["hub"]["commit"] for e in data["inputs"]] == [commit_of("google/xtreme", "main")]

    # deleting one snapshot re-downloads just it (and re-runs only what read it)
    snapshot = f"mirror/models/{MODEL_REPO}/main/download.json"
    (tmp_path / snapshot).unlink()
    dry = ("-n", *targets, snapshot, "--quiet", "rules")
    plan = snakemake(tmp_path, *dry, configfile="study.yaml", env=_env(), cores=None, timeout=120)
    assert _job_counts(plan.stdout + plan.stderr) == {"download": 1, "tokenize": 2, "total": 3}


def test_hand_filled_mirror_is_verified_without_network(tmp_path, served_hub):
    src = hub.dataset_dir(served_hub, "google/xtreme", "main")
    commit = "0123456789abcdef0123456789abcdef01234567"
    folder = hub.dataset_dir(tmp_path / "mirror", "google/xtreme", commit)
    shutil.copytree(src, folder)
    patterns = json.dumps(["README.md", "PAWS-X.de/*"])
    cmd = ["xstilts", "download", "--kind", "datasets", "--repo", "google/xtreme"]
    cmd += ["--revision", commit, "--patterns", patterns, "--mirror", str(tmp_path / "mirror")]
    env = _env(HF_ENDPOINT=CLOSED, HF_HUB_OFFLINE="1")
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    record = json.loads((folder / "download.json").read_text())
    assert record["summary"]["commit"] == commit
    assert "filled beforehand" in record["summary"]["how"]
    # the files the grid reads are hashed, not the rest of the (site's) mirror
    wanted = {"README.md", *(f"PAWS-X.de/{p.name}" for p in (folder / "PAWS-X.de").iterdir())}
    assert set(record["outputs"][str(folder)]) == wanted
    # a hand-filled folder without a file the grid needs: an error naming it, and the fix
    shutil.rmtree(folder / "PAWS-X.de")
    (folder / "download.json").unlink()
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "PAWS-X.de/*" in run.stderr and "hf download google/xtreme" in run.stderr
    assert "Traceback" not in run.stderr


def test_compute_job_without_the_mirror_names_the_missing_file(tmp_path):
    missing = tmp_path / "mirror/models/FacebookAI/xlm-roberta-base/main"
    env = _env(HF_ENDPOINT=CLOSED, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    cmd = ["xstilts", "tokenize", "--model-ref", str(missing), "--data", str(tmp_path / "d")]
    cmd += ["--task", "pawsx", "--max-length", "64", "--out", str(tmp_path / "cache")]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert f"{missing}/download.json is missing" in run.stderr
    assert not re.search(r"connect|huggingface\.co|offline mode|Traceback", run.stderr, re.I)
    data = tmp_path / "mirror/datasets/google/xtreme/main"
    spec = json.dumps({"source": "hub", "mirror": str(tmp_path / "mirror")})
    cmd = ["xstilts", "prepare-data", "--task", "pawsx", "--spec", spec, "--hub", str(data)]
    run = subprocess.run(
        cmd + ["--out", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2 and f"{data}/download.json is missing" in run.stderr
    assert not (tmp_path / "cache").exists() and not (tmp_path / "data").exists()


def test_unknown_repository_is_a_clear_error(tmp_path):
    (tmp_path / "hub").mkdir()
    with HubStandIn(tmp_path / "hub") as stand_in:
        cmd = ["xstilts", "download", "--kind", "datasets", "--repo", "nobody/nothing"]
        cmd += ["--revision", "main", "--patterns", '["README.md"]', "--mirror", str(tmp_path)]
        run = subprocess.run(
            cmd,
            env=_env(HF_ENDPOINT=stand_in.endpoint),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 2
    assert "nobody/nothing@main: the hub answered" in run.stderr and "Traceback" not in run.stderr
