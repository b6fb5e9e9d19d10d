"""The conda environments the rules name (`--sdm conda`, or `mamba env create` by hand): their pip
section installs this repository, whose own dependencies must not drag a CPU faiss into the GPU
environment."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
import yaml
from conftest import REPO

ENVS = REPO / "workflow" / "envs"


@pytest.mark.parametrize("name", ["xstilts-gpu", "xstilts-cpu"])
def test_environment_installs_this_repository(name, tmp_path):
    env = yaml.safe_load((ENVS / f"{name}.yaml").read_text())
    assert env["name"] == name
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    faiss = "faiss-gpu" if name.endswith("gpu") else "faiss-cpu"
    assert any(d.startswith(faiss) for d in conda) and "pip" in conda
    # conda runs pip in the environment file's folder: the entry must resolve to this repository
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pip) + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "-r", str(requirements)],
        cwd=ENVS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Would install xstilts-" in run.stdout


def test_package_leaves_faiss_to_the_environment():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("faiss") for d in project["dependencies"])
    assert any(d.startswith("faiss-cpu") for d in project["optional-dependencies"]["cpu"])
