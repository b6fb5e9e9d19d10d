"""The conda environments the rules name (`--sdm conda`, or `mamba env create` by hand): conda
provides Python and pip, and their pip section installs this repository. The GPU one is resolved
here by pip (`--dry-run --report`, nothing installed) to a CUDA build of torch that the resolved
transformers accepts by its own requirement."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest
import yaml
from conftest import REPO
from packaging.requirements import Requirement
from packaging.version import Version

ENVS = REPO / "workflow" / "envs"


def _pip_section(name: str) -> tuple[list[str], list[str]]:
    env = yaml.safe_load((ENVS / f"{name}.yaml").read_text())
    assert env["name"] == name
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return conda, pip


@pytest.mark.parametrize("name", ["xstilts-gpu", "xstilts-cpu"])
def test_environment_installs_this_repository(name, tmp_path):
    conda, pip = _pip_section(name)
    # conda gives Python and pip only: every Python package comes from pip (pyproject.toml)
    assert sorted(d.split("=")[0] for d in conda) == ["pip", "python"]
    # conda runs pip in the environment file's folder: the entry must resolve to this repository
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(p for p in pip if p.startswith("-e")) + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "-r", str(requirements)],
        cwd=ENVS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Would install xstilts-" in run.stdout


def test_gpu_environment_resolves_to_a_cuda_torch_that_transformers_accepts(tmp_path):
    _, pip = _pip_section("xstilts-gpu")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pip) + "\n")
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    run = subprocess.run(
        [*cmd, "--report", str(report), "-r", str(requirements)],
        cwd=ENVS,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    resolved = {
        i["metadata"]["name"].lower(): i["metadata"]
        for i in json.loads(report.read_text())["install"]
    }
    torch = Version(resolved["torch"]["version"])
    assert torch.local is None or "cpu" not in torch.local, torch  # not the CPU wheel
    # a CUDA build: torch depends on NVIDIA's CUDA runtime wheels
    assert any(n.startswith("nvidia-cuda-runtime") for n in resolved), sorted(resolved)
    # transformers' own requirement on torch (its `torch` extra), read from its metadata
    wants = [Requirement(r) for r in resolved["transformers"]["requires_dist"]]
    (spec,) = {str(r.specifier) for r in wants if r.name == "torch" and r.specifier}
    assert torch in Requirement(f"torch{spec}").specifier, (torch, spec)
    for name in ("deepspeed", "faiss-cpu", "xstilts"):
        assert name in resolved, sorted(resolved)
    # and the package's own lower bound is no looser than transformers'
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (ours,) = [Requirement(d) for d in project["dependencies"] if d.startswith("torch")]
    assert Version(spec.lstrip(">=")) in ours.specifier


def test_package_leaves_faiss_to_the_extras():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("faiss") for d in project["dependencies"])
    for extra in ("cpu", "gpu"):
        assert any(d.startswith("faiss") for d in project["optional-dependencies"][extra])
