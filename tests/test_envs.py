"""The locked environments: ``locks/*.txt`` (``make lock``) pin every package of the CPU and GPU
environments; ``make install`` and the conda environments the rules name (``--sdm conda``, or
``mamba env create`` by hand) install from them. The locks agree with ``pyproject.toml``; each GPU
lock is resolved here by pip from PyPI (``--dry-run --report``, nothing installed) to a torch built
for its CUDA major that the resolved transformers accepts by its own requirement."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tomllib

import pytest
import yaml
from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from xstilts import driver

ENVS = REPO / "workflow" / "envs"
LOCKS = REPO / "locks"
# each lock: the pyproject extras it holds (the Makefile's `lock` target)
EXTRAS = {"cpu": {"deepspeed", "cpu", "dev"}, "gpu-cuda12": {"gpu"}, "gpu-cuda13": {"gpu"}}
LINUX = {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"}
LINUX |= {"python_version": "3.11", "python_full_version": "3.11.7"}


def _pip_section(name: str) -> tuple[list[str], list[str]]:
    env = yaml.safe_load((ENVS / f"{name}.yaml").read_text())
    assert env["name"] == name
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return conda, pip


def _pins(lock: str) -> dict[str, Version]:
    text = (LOCKS / f"{lock}.txt").read_text()
    found = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.M)
    return {canonicalize_name(n): Version(v) for n, v in found}


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("lock", sorted(EXTRAS))
def test_lock_agrees_with_pyproject(lock):
    """Every requirement of pyproject.toml (its dependencies and the lock's extras, as they apply on
    Linux x86-64) is pinned in the lock, at a version the requirement allows; so is the lock's
    torch choice (locks/<lock>.in)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in EXTRAS[lock]:
        wanted += project["optional-dependencies"][extra]
    wanted += [
        line for line in (LOCKS / f"{lock}.in").read_text().splitlines() if not line.startswith("#")
    ]
    pins = _pins(lock)
    assert "protobuf" in pins  # SentencePiece tokenizers
    for req in map(Requirement, wanted):
        if req.marker and not req.marker.evaluate(LINUX):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"locks/{lock}.txt lacks {req} (run `make lock`)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"locks/{lock}.txt pins {name}=={pins[name]}, pyproject wants {req} (run `make lock`)"
        )
    # the lock holds what the project needs, not the project itself: it is installed from the tree
    assert "xstilts" not in pins


def test_installs_are_from_the_locks():
    makefile = (REPO / "Makefile").read_text()
    assert "-r locks/cpu.txt" in makefile and "--no-deps -e ." in makefile
    assert "make lock" in (REPO / "README.md").read_text()
    _, pip = _pip_section("xstilts-cpu")
    assert "-r ../../locks/cpu.txt" in pip
    _, pip = _pip_section("xstilts-gpu")
    assert [p for p in pip if p.startswith("-r")] == ["-r ../../locks/gpu-cuda13.txt"]


def test_this_environment_agrees_with_its_lock():
    from xstilts import provenance

    lock = provenance._lock()
    assert lock["file"] == "locks/cpu.txt" and lock["differs"] == [], lock
    assert len(lock["sha256"]) == 64


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


@pytest.fixture(scope="module")
def resolved_gpu(tmp_path_factory) -> dict[int, dict]:
    """The site's setting, the lock line of xstilts-gpu.yaml, set to each CUDA major: what pip
    resolves from PyPI for each (both at once: fetching the index pages takes a minute or two)."""
    if not _pypi_reachable():
        pytest.skip("PyPI is not reachable")
    _, pip = _pip_section("xstilts-gpu")
    tmp = tmp_path_factory.mktemp("gpu")
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    runs = {}
    try:
        for cuda in (12, 13):
            setting = [
                f"-r ../../locks/gpu-cuda{cuda}.txt" if p.startswith("-r") else p for p in pip
            ]
            requirements = ENVS / f".test-requirements-cuda{cuda}.txt"  # conda runs pip here
            requirements.write_text("\n".join(setting) + "\n")
            report = tmp / f"cuda{cuda}.json"
            run = subprocess.Popen(
                [*cmd, "--report", str(report), "-r", requirements.name],
                cwd=ENVS,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            runs[cuda] = (run, report)
        out = {}
        for cuda, (run, report) in runs.items():
            _, err = run.communicate(timeout=600)
            assert run.returncode == 0, err[-3000:]
            out[cuda] = {
                canonicalize_name(i["metadata"]["name"]): i["metadata"]
                for i in json.loads(report.read_text())["install"]
            }
        return out
    finally:
        for run, _ in runs.values():
            if run.poll() is None:
                run.kill()
        for cuda in (12, 13):
            (ENVS / f".test-requirements-cuda{cuda}.txt").unlink(missing_ok=True)


@pytest.mark.parametrize("cuda", [12, 13])
def test_gpu_environment_resolves_to_the_sites_cuda_build(cuda, resolved_gpu):
    """pip resolves the environment to exactly the lock's pins (nothing missing from the lock),
    torch built for the chosen CUDA major, one that the resolved transformers accepts."""
    resolved = resolved_gpu[cuda]
    pins = _pins(f"gpu-cuda{cuda}")
    assert {n: Version(m["version"]) for n, m in resolved.items() if n != "xstilts"} == pins
    torch = resolved["torch"]
    # a CUDA build of that major: torch requires NVIDIA's CUDA runtime wheel of that major
    runtime = [
        Requirement(r)
        for r in torch["requires_dist"]
        if Requirement(r).name.startswith("nvidia-cuda-runtime")
        or Requirement(r).name == "cuda-toolkit"
    ]
    assert runtime, torch["requires_dist"]
    for r in runtime:
        (pin,) = r.specifier
        assert Version(pin.version).major == cuda, r
        assert r.marker.evaluate(LINUX)
    # transformers' own requirement on torch (its `torch` extra), read from its metadata
    wants = [Requirement(r) for r in resolved["transformers"]["requires_dist"]]
    (spec,) = {str(r.specifier) for r in wants if r.name == "torch" and r.specifier}
    assert Version(torch["version"]) in Requirement(f"torch{spec}").specifier, (torch, spec)
    for name in ("deepspeed", "faiss-cpu", "xstilts"):
        assert name in resolved, sorted(resolved)


def test_newest_cuda12_torch_on_pypi_is_the_locked_one():
    """torch 2.10 is PyPI's last CUDA 12 build: the CUDA 13 lock's torch is newer."""
    assert _pins("gpu-cuda12")["torch"] < Version("2.11") <= _pins("gpu-cuda13")["torch"]


@pytest.mark.parametrize(
    ("cuda", "nvidia", "fits", "says"),
    [
        ("13.0", "580.95.05", True, "runs torch's CUDA 13.0 build"),
        ("13.0", "570.86.10", False, "install locks/gpu-cuda12.txt"),
        ("12.8", "570.86.10", True, "needs >= 525.60.13"),
        ("12.8", "470.82.01", False, "needs driver >= 525.60.13): update the driver"),
        (None, "580.95.05", False, "CPU build"),
        ("12.8", None, False, "no NVIDIA driver"),
    ],
)
def test_driver_fit_says_plainly_when_the_build_cannot_run(cuda, nvidia, fits, says):
    ok, line = driver.fit(cuda, nvidia)
    assert ok is fits and says in line, line


def test_torch_cuda_read_without_importing_torch():
    import torch

    assert driver.torch_cuda() == torch.version.cuda
