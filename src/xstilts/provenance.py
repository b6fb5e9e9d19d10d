"""Provenance: a ``manifest.json`` beside every job's output, and outputs that appear atomically.

A manifest records what a job was (rule, wildcards, resolved parameters), what it read (the sha256
of each input's manifest, so manifests chain back to the data), what it wrote (sha256 of every
output file), and where and how it ran (git commit and dirty flag, package versions and the lock
they agree with, host, GPU,
SLURM job id, times, log). ``run_id`` names the manifest; result tables carry it per row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from xstilts import hub, layout

PACKAGES = (
    "xstilts",
    "torch",
    "transformers",
    "datasets",
    "tokenizers",
    "accelerate",
    "deepspeed",
    "faiss-cpu",
    "faiss-gpu",
    "pyarrow",
    "numpy",
    "snakemake",
)
PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parents[1]  # the checkout (src layout); an installed package has none
LOCKS = REPO / "locks"  # `make lock`: one pinned requirements file per environment


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_hashes(path: Path) -> dict[str, str]:
    """sha256 of a file, or of every file below a folder (manifest.json excluded)."""
    path = Path(path)
    if path.is_file():
        return {path.name: sha256_file(path)}
    return {
        str(p.relative_to(path)): sha256_file(p)
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != layout.MANIFEST
    }


def manifest_path(output: str | Path) -> Path:
    """The manifest that describes ``output``: inside a folder, beside a file."""
    output = Path(output)
    return output / layout.MANIFEST if output.is_dir() else output.parent / layout.MANIFEST


def code_hash() -> str:
    """sha256 of the installed package's files (its workflow included), bytecode left out."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(f"{path.relative_to(PACKAGE).as_posix()} {sha256_file(path)}\n".encode())
    return h.hexdigest()


def _git() -> dict:
    """The checkout's commit and dirty flag; an installed package (no checkout) is named by
    ``code``, the hash of its files."""
    if not (REPO / ".git").exists():
        return {"commit": None, "dirty": None, "code": code_hash()}

    def run(*args):
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=10
        )

    try:
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = run("status", "--porcelain", "--untracked-files=no").stdout.strip() != ""
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _pins(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith((" ", "#")):
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def _lock() -> dict | None:
    """The lock (``locks/*.txt``) this environment was installed from: its file and sha256, and
    the pinned packages whose installed version differs from the pin (empty when it agrees).
    The lock with the fewest differences; None where this checkout has no locks."""
    locks = sorted(LOCKS.glob("*.txt"))
    if not locks:
        return None
    installed = {
        (d.metadata["Name"] or "").lower().replace("_", "-"): d.version
        for d in metadata.distributions()
    }
    best = None
    for lock in locks:
        pins = _pins(lock)
        differs = sorted(n for n, v in pins.items() if installed.get(n) != v)
        if best is None or len(differs) < len(best["differs"]):
            best = {"file": lock.relative_to(REPO).as_posix(), "sha256": sha256_file(lock)}
            best["differs"] = differs
    return best


def _gpu() -> list[str] | None:
    if "torch" not in sys.modules:
        return None
    import torch

    if not torch.cuda.is_available():
        return None
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def read_manifest(output: str | Path) -> dict:
    path = manifest_path(output)
    if not path.is_file():
        raise FileNotFoundError(f"{output} has no manifest ({path} is missing)")
    return json.loads(path.read_text())


def write_json(path: Path, obj) -> None:
    """Write JSON atomically (temporary name, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


@contextmanager
def staged(final: str | Path):
    """Yield a temporary path next to ``final``; rename it to ``final`` only on success.

    A killed or failing job leaves at most a hidden ``.tmp`` sibling, never a finished-looking
    output.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.stem}.tmp{os.getpid()}{final.suffix}")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        raise
    if final.is_dir():
        shutil.rmtree(final)
    os.replace(tmp, final)


class Job:
    """Collects one job's provenance; ``finish`` writes its manifest beside the outputs."""

    def __init__(
        self,
        rule: str,
        wildcards: dict,
        params: dict,
        inputs: list,
        log: str | None,
        embed: tuple = (),
    ):
        """``embed``: inputs whose manifest is copied in whole (temporary inputs, deleted once
        consumed, would otherwise take their provenance with them)."""
        self.record = {
            "run_id": uuid.uuid4().hex,
            "rule": rule,
            "wildcards": wildcards,
            "params": params,
            "inputs": [self._input(p, p in embed) for p in inputs],
            "git": _git(),
            "packages": _versions(),
            "lock": _lock(),
            "host": socket.gethostname(),
            "platform": platform.platform(),
            "slurm": {
                k: os.environ[v]
                for k, v in (
                    ("job_id", "SLURM_JOB_ID"),
                    ("array_task_id", "SLURM_ARRAY_TASK_ID"),
                    ("partition", "SLURM_JOB_PARTITION"),
                    ("nodelist", "SLURM_JOB_NODELIST"),
                )
                if v in os.environ
            }
            or None,
            "started": _now(),
            "log": log,
        }

    @property
    def run_id(self) -> str:
        return self.record["run_id"]

    def fingerprint(self) -> str:
        """Hash of what determines the job's result: rule, wildcards, parameters, inputs."""
        key = {k: self.record[k] for k in ("rule", "wildcards", "params", "inputs")}
        return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()

    @staticmethod
    def _input(path, embed: bool = False) -> dict:
        """An input by path, with the sha256 of its manifest when it has one (hub ids have none).

        A snapshot of the hub mirror is named by its ``download.json`` (repository, revision,
        resolved commit); one the download stage has not filled is an error naming that file.
        """
        path = Path(path)
        entry = {"path": str(path)}
        if hub.is_mirror_path(path):
            snapshot = hub.require(path)
            entry["manifest_sha256"] = sha256_file(path / hub.MANIFEST)
            entry["run_id"] = snapshot.get("run_id")
            entry["hub"] = {
                k: snapshot["summary"].get(k) for k in ("repo", "kind", "revision", "commit")
            }
        elif path.exists():
            m = manifest_path(path)
            if m.is_file():
                entry["manifest_sha256"] = sha256_file(m)
                record = json.loads(m.read_text())
                entry["run_id"] = record.get("run_id")
                if embed:
                    entry["manifest"] = record
            else:
                entry["sha256"] = file_hashes(path)
        else:
            entry["reference"] = "not a local file (hub id)"
        return entry

    def finish(self, outputs: dict, manifest: Path, extra: dict | None = None) -> dict:
        """Hash the outputs and write the manifest (atomically) to ``manifest``.

        ``outputs`` maps each output's final path to where it is now (a staged folder may still
        carry its temporary name).
        """
        self.record["gpu"] = _gpu()
        self.record["outputs"] = {str(k): file_hashes(Path(v)) for k, v in outputs.items()}
        self.record["finished"] = _now()
        start = dt.datetime.fromisoformat(self.record["started"])
        end = dt.datetime.fromisoformat(self.record["finished"])
        self.record["duration_s"] = (end - start).total_seconds()
        if extra:
            self.record.update(extra)
        write_json(Path(manifest), self.record)
        return self.record
