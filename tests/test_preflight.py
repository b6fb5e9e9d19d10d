"""``xstilts preflight``: every problem of a grid's mirror and local data in one run, with its fix,
on fixture mirrors laid out as the hub repositories (tests/hub_mirror.py); exit 0 when complete."""

from __future__ import annotations

import copy
import shutil
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hub_mirror import build_mirror
from hub_server import HubStandIn

from xstilts import hub

MODEL_REPO = "xstilts-test/tiny-xlmr"
CLOSED = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def complete(tmp_path_factory, tiny_model):
    """A complete site: mirror (data sets and the model, filled by hand) and a CCGbank copy."""
    root = tmp_path_factory.mktemp("site")
    build_mirror(root / "mirror", tasks=["cosmosqa", "pawsx"])
    shutil.copytree(tiny_model, hub.model_dir(root / "mirror", MODEL_REPO, "main"))
    for part in ("02", "00"):
        auto = root / "ccgbank" / "data" / "AUTO" / part / f"wsj_{part}01.auto"
        auto.parent.mkdir(parents=True)
        auto.write_text("ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1\n(<L N NN NN dog N>)\n")
    config = {
        "models": {"tiny": {"hub": MODEL_REPO, "gpus": 0}},
        "grid": {
            "models": ["tiny"],
            "intermediate": ["none", "cosmosqa", "ccg"],
            "targets": ["pawsx"],
            "seeds": [1],
        },
        "data": {
            "source": "hub",
            "tasks": {"ccg": {"source": "local", "root": str(root / "ccgbank")}},
        },
        "hub": {"mirror": str(root / "mirror")},
        "hparams": {"all": {"max_length": 128}},
    }
    return root, config


def _preflight(path, config: dict, endpoint: str | None = None):
    path.write_text(yaml.safe_dump(config))
    hub = [f"HF_ENDPOINT={endpoint}"] if endpoint else ["HF_HUB_OFFLINE=1", f"HF_ENDPOINT={CLOSED}"]
    env_cmd = ["env", "-u", "HF_HUB_OFFLINE", *hub, "TOKENIZERS_PARALLELISM=false"]
    cmd = env_cmd + ["xstilts", "preflight", "--configfile", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_complete_mirror_passes(tmp_path, complete):
    root, config = complete
    run = _preflight(tmp_path / "ok.yaml", config)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no problem(s)" in run.stdout
    assert "3 snapshot(s)" in run.stdout  # the model, google/xtreme, allenai/cosmos_qa
    assert "MB in all (" in run.stdout and "0.0 MB to download" in run.stdout


def test_every_problem_reported_in_one_run(tmp_path, complete):
    site, config = complete
    mirror = tmp_path / "mirror"
    shutil.copytree(site / "mirror", mirror)
    config = copy.deepcopy(config)
    config["hub"]["mirror"] = str(mirror)
    xtreme = hub.dataset_dir(mirror, "google/xtreme", "main")
    # 1. a missing config: PAWS-X.ko's files are not in the mirror
    shutil.rmtree(xtreme / "PAWS-X.ko")
    # 2. a script-only repository: CosmosQA read from its main branch, which holds cosmos_qa.py
    config["hub"]["revisions"] = {"allenai/cosmos_qa": "main"}
    # 3. a split with stripped labels: PAWS-X.fr test labels blanked, as XTREME's copies are
    (test,) = (xtreme / "PAWS-X.fr").glob("test-*.parquet")
    table = pq.read_table(test)
    labels = pa.array([""] * table.num_rows, type=table.schema.field("label").type)
    table = table.set_column(table.schema.get_field_index("label"), "label", labels)
    pq.write_table(table, test)
    # 4. a missing CCGbank path
    config["data"]["tasks"]["ccg"]["root"] = str(tmp_path / "no-ccgbank")
    # 5. a value only the model's own config.json (in the mirror) rejects: 130 positions
    config["hparams"]["tasks"] = {"pawsx": {"max_length": 200}}

    run = _preflight(tmp_path / "bad.yaml", config)
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "Traceback" not in run.stderr
    assert "no file matching PAWS-X.ko/*" in out
    assert "cosmos_qa.py" in out and "script-only" in out and "refs/convert/parquet" in out
    assert "PAWS-X.fr" in out and "no gold labels" in out
    assert f"{tmp_path / 'no-ccgbank'} is not a folder" in out and "LDC2005T13" in out
    assert "max_length of pawsx): 200" in out and "at most 128" in out
    assert out.count("fix:") >= 5


def test_snapshots_not_downloaded_yet_are_checked_on_the_hub(tmp_path, complete):
    """An empty mirror with the hub reachable (a stand-in serving the complete site's mirror):
    the files each snapshot needs are looked up on the hub, their size reported; a script-only
    revision is a problem found there too."""
    site, config = complete
    config = copy.deepcopy(config)
    config["hub"]["mirror"] = str(tmp_path / "empty")
    with HubStandIn(site / "mirror") as stand_in:
        run = _preflight(tmp_path / "ok.yaml", config, stand_in.endpoint)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "0.0 MB present" in run.stdout and " 0.0 MB to download" not in run.stdout
        assert stand_in.count("GET", f"/{MODEL_REPO}/resolve/main/config.json") == 1
        config["hub"]["revisions"] = {"allenai/cosmos_qa": "main"}
        config["hparams"]["tasks"] = {"pawsx": {"max_length": 200}}
        run = _preflight(tmp_path / "bad.yaml", config, stand_in.endpoint)
    assert run.returncode == 1
    assert "allenai/cosmos_qa@main on the hub has no file matching" in run.stdout
    assert "cosmos_qa.py: a script-only repository" in run.stdout
    assert "at most 128" in run.stdout  # the model's config.json, read from the hub
    assert not (tmp_path / "empty").exists()  # nothing downloaded


@pytest.mark.parametrize(
    ("data", "warned"),
    [
        ({"source": "hub"}, "the hub copy google/xtreme (udpos.{lang_name}) reads"),
        ({"source": "local", "tasks": {"udpos": {"multiword": "subtokens"}}}, "multiword: fused"),
        ({"source": "local"}, None),
        ({"source": "local", "tasks": {"udpos": {"multiword": "fused"}}}, None),
    ],
)
def test_udpos_read_unlike_xtreme_warns(tmp_path, data, warned):
    """UD-POS counts in XTREME's structured-prediction group: data that keep the subtokens of
    multiword tokens (the hub's copy, or the config's choice) are compared with a warning."""
    from xstilts import config, preflight
    from xstilts.study import Study

    raw = {
        "models": {"tiny": {"hub": MODEL_REPO, "gpus": 0}},
        "grid": {"models": ["tiny"], "intermediate": ["none"], "targets": ["udpos"], "seeds": [1]},
        "data": data,
        "hub": {"mirror": str(tmp_path / "mirror")},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    study = Study(config.load(tmp_path / "c.yaml"))
    warnings = preflight._multiword_warnings(study, "udpos", study.data_source("udpos"))
    assert warnings == [] if warned is None else len(warnings) == 1 and warned in warnings[0]
    assert preflight._multiword_warnings(study, "panx", study.data_source("panx")) == []


def test_on_a_gpu_node_a_driver_that_cannot_run_torch_is_a_problem(tmp_path):
    """A node with an NVIDIA driver (a stand-in ``nvidia-smi``) and this CPU build of torch:
    preflight prints the driver and the build and says that they do not fit (beside the
    config's own problem: this one has no grid)."""
    import os

    config = {"hub": {"mirror": str(tmp_path / "mirror")}}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 570.86.10\n")
    smi.chmod(0o755)
    old = os.environ["PATH"]
    os.environ["PATH"] = f"{bin_dir}:{old}"
    try:
        run = _preflight(tmp_path / "ok.yaml", config)
    finally:
        os.environ["PATH"] = old
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2 problem(s)" in run.stdout
    assert "gpu: torch is a CPU build (no CUDA); NVIDIA driver 570.86.10" in run.stdout
