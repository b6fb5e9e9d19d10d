"""Shared fixtures: a tiny XLM-R built locally, the real data slices, a tiny study config, the
one helper that runs Snakemake for tests, and one tiny study shared by the tests that only read it.

- ``snakemake(workdir, *args, ...)`` runs the workflow (``--cores 2`` unless given) in
  ``workdir`` and returns the finished process (``.stdout + .stderr`` for the log); with
  ``check=True`` (the default) a failed run fails the test with the log's tail. ``planned()``
  gives a dry run's job counts per rule.
- ``tiny_study`` (session-scoped) is ``tiny_study_config(seeds=[1, 2])`` run once, with its
  Snakemake report (``report.html``). Tests that only read results use it; a test that damages
  or reruns a study copies it first (``shutil.copytree(tiny_study, tmp_path / "study")``) or
  builds its own.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DS_ACCELERATOR", "cpu")

TINY_ARCHITECTURE = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 130,
}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data slices not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer XLM-R with a tokenizer trained on the synthetic corpus, saved like a hub model."""
    from xstilts import demo_model

    out = tmp_path_factory.mktemp("tiny-model") / "model"
    spec = {
        "architecture": TINY_ARCHITECTURE,
        "vocab_size": 2000,
        "mlm_steps": 5,
        "corpus_sentences_per_language": 40,
    }
    demo_model.build(out, spec, ["en", "de", "zh", "ar", "hi", "vi"], seed=0)
    return out


def tiny_hparams(**overrides):
    """The default hyper-parameters (``HParams``) at a tiny model's scale (learning rate 1e-3,
    batch 8, 64 tokens), with ``overrides``."""
    from xstilts.hparams import HParams

    return HParams(**{"learning_rate": 1e-3, "batch_size": 8, "max_length": 64, **overrides})


def tiny_study_config(**overrides) -> dict:
    """A complete, small study config (synthetic data, tiny model, a few steps)."""
    config = {
        "models": {
            "tiny": {
                "build": {
                    "architecture": TINY_ARCHITECTURE,
                    "vocab_size": 1500,
                    "mlm_steps": 10,
                    "corpus_sentences_per_language": 30,
                }
            }
        },
        "grid": {
            "models": ["tiny"],
            "intermediate": ["none", "mnli"],
            "targets": ["xnli", "udpos"],
            "seeds": [1],
        },
        "data": {"source": "synthetic", "synthetic": {"train_size": 64, "eval_size": 8}},
        "hparams": {
            "all": {
                "learning_rate": 1e-3,
                "batch_size": 8,
                "max_length": 64,
                "max_steps": 4,
                "eval_steps": 2,
            }
        },
        "keep_target_models": True,
    }
    config.update(overrides)
    return config


def snakemake(
    workdir: Path,
    *args: str,
    configfile: str | None = None,
    cores: int | None = 2,
    env: dict | None = None,
    prefix: tuple[str, ...] = (),
    repo: Path = REPO,
    timeout: float = 900,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run Snakemake on ``repo``'s workflow in ``workdir`` with the environment ``env`` (default:
    this one); its jobs import the package from ``repo/src``. ``prefix`` goes before the command
    (``("unshare", "-n")``)."""
    cmd = [*prefix, "snakemake", "-s", str(repo / "workflow" / "Snakefile")]
    cmd += ["--cores", str(cores)] if cores else []
    cmd += args  # --configfile last: it takes every argument that follows
    cmd += ["--configfile", configfile] if configfile else []
    env = {**(os.environ if env is None else env), "PYTHONPATH": str(repo / "src")}
    run = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


def planned(workdir: Path, configfile: str, **kwargs) -> dict[str, int]:
    """Job counts per rule of a dry run (``{}``: nothing to do)."""
    run = snakemake(workdir, "-n", configfile=configfile, **kwargs)
    out = run.stdout + run.stderr
    table = out.split("Job stats:")[1].split("Reasons:")[0] if "Job stats:" in out else ""
    return {
        m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"
    }


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory) -> Path:
    """The tiny study (two seeds) run once by Snakemake, with its report: read, never changed."""
    workdir = tmp_path_factory.mktemp("tiny-study")
    config = tiny_study_config()
    config["grid"]["seeds"] = [1, 2]
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config))
    snakemake(workdir, configfile="tiny.yaml", timeout=1800)
    snakemake(workdir, "--report", "report.html", configfile="tiny.yaml")
    return workdir
