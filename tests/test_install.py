"""A non-editable install works away from the checkout: the wheel carries the workflow (Snakefile,
rules, schema, profile) and the package finds it, and its reference facts, as package data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import REPO, tiny_study_config


def _run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel alone; its dependencies are this environment's (a ``.pth``
    to its site-packages, whose editable finder is not run from there)."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # a clean copy: the build writes nothing into the checkout
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source / "pyproject.toml")
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("src", "workflow"):
        shutil.copytree(REPO / folder, source / folder, ignore=skip)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run([*pip, "wheel", "--no-deps", "--no-index", "--no-build-isolation", "-w", tmp, source])
    (wheel,) = tmp.glob("xstilts-*.whl")

    env = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", env])
    python = env / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    (Path(site.stdout.strip()) / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([python, *pip[1:], "install", "--no-deps", "--no-index", "--force-reinstall", wheel])
    # Snakemake's own console script (installed with Snakemake, which the wheel did not install)
    script = env / "bin" / "snakemake"
    script.write_text(f"#!{python}\nimport sys\nfrom snakemake.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    return env


def _env(venv: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}", "HF_HUB_OFFLINE": "1"}


def test_the_wheel_lists_every_subpackage():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(project["tool"]["setuptools"]["packages"])
    src = REPO / "src"
    found = {".".join(p.parent.relative_to(src).parts) for p in src.glob("xstilts/**/__init__.py")}
    assert listed == found | {"xstilts.workflow"}


@pytest.mark.slow
def test_the_wheel_imports_from_the_venv(venv):
    code = "import xstilts, xstilts.workflow; print(xstilts.__file__)"
    out = _run([venv / "bin" / "python", "-c", code], env=_env(venv)).stdout
    assert out.startswith(str(venv))


@pytest.mark.slow
def test_check_config_and_a_one_cell_study_from_another_directory(venv, tmp_path):
    config = tiny_study_config()
    config["grid"].update(intermediate=["none"], targets=["xnli"])
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(config))
    xstilts, env = str(venv / "bin" / "xstilts"), _env(venv)

    out = _run([xstilts, "check-config", "one.yaml"], cwd=tmp_path, env=env).stdout
    assert "one.yaml: ok" in out
    _run([xstilts, "run", "--cores", "2", "--configfile", "one.yaml"], cwd=tmp_path, env=env)

    run = tmp_path / "results" / "one" / "tiny" / "none" / "xnli" / "seed1"
    assert json.loads((run / "metrics.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["git"]["commit"] is None and len(manifest["git"]["code"]) == 64
    matrix = "results/one/tiny/transfer_matrix.csv"
    why = [xstilts, "explain", matrix, "--row", "none", "--col", "xnli"]
    explained = _run(why, cwd=tmp_path, env=env).stdout
    assert f"installed package files sha256 {manifest['git']['code']}" in explained
    assert list((tmp_path / "results" / "one").glob("tiny/report/tables/*.csv"))
