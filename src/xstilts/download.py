"""The download stage: fill the hub mirror, once per repository and revision.

The ``download`` rule (a Snakemake local rule: it runs where Snakemake runs, the login node)
fetches every model snapshot (config, tokenizer, weights: ``MODEL_PATTERNS``) and the data
files of every hub data set the grid needs into ``hub.mirror`` (layout in :mod:`xstilts.hub`),
pinned to the revision the config names, and writes ``download.json``: the commit the revision
resolved to and the sha256 of every file. A folder filled by hand (``hf download ...
--local-dir``) is verified, not downloaded again. Every other job runs with the hub offline
and reads only the mirror.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from xstilts import hub, needs
from xstilts.provenance import Job, sha256_file

# The files of a model repository transformers may need (``model_files`` keeps those the
# repository holds): config, tokenizer in any of its formats, weights, and how
# sentence-transformers pools (retrieval embeds as the model was trained). Never generator
# (pytorch_model.generator.bin), TensorFlow, Flax or ONNX files.
TOKENIZER_FILES = (
    "tokenizer.json",
    "sentencepiece.bpe.model",
    "spm.model",
    "sentencepiece.model",
    "vocab.txt",
    "vocab.json",
)
SAFETENSORS = ("model.safetensors", "model-*-of-*.safetensors", "model.safetensors.index.json")
PYTORCH_BIN = ("pytorch_model.bin", "pytorch_model-*-of-*.bin", "pytorch_model.bin.index.json")
MODEL_PATTERNS = (
    "config.json",
    *TOKENIZER_FILES,
    "merges.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    *SAFETENSORS,
    *PYTORCH_BIN,
    *hub.POOLING_FILES,
)
MODEL_REQUIRED = (
    ("config.json",),
    TOKENIZER_FILES,
    SAFETENSORS[:2] + PYTORCH_BIN[:2],
)
COMMIT = re.compile(r"[0-9a-f]{40}")
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


@dataclass(frozen=True)
class Snapshot:
    """One repository at one revision, and the files of it the grid needs."""

    kind: str  # "models" or "datasets" (the mirror's folder)
    repo: str
    revision: str
    patterns: tuple[str, ...]
    mirror: str

    @property
    def folder(self) -> Path:
        fn = hub.model_dir if self.kind == "models" else hub.dataset_dir
        return fn(self.mirror, self.repo, self.revision)

    @property
    def manifest(self) -> Path:
        return self.folder / hub.MANIFEST

    @property
    def required(self) -> tuple[tuple[str, ...], ...]:
        """Groups of patterns of which each must match a file (a model's tokenizer comes as
        tokenizer.json or as the SentencePiece model)."""
        if self.kind == "models":
            return MODEL_REQUIRED
        return tuple((p,) for p in self.patterns)

    def wanted(self, files: list[str]) -> tuple[str, ...]:
        """The patterns to fetch from a repository holding ``files``: a model's weights as
        safetensors when it has them, else as ``pytorch_model*.bin``; only patterns it holds."""
        patterns = self.patterns
        if self.kind == "models" and _matching(files, SAFETENSORS):
            patterns = tuple(p for p in patterns if p not in PYTORCH_BIN)
        return tuple(p for p in patterns if _matching(files, (p,)))


def _matching(files: list[str], patterns) -> list[str]:
    return [f for f in files if any(fnmatch.fnmatch(f, p) for p in patterns)]


def snapshots(study) -> list[Snapshot]:
    """Every snapshot the grid needs: its hub models and its hub data sets' repositories,
    one per repository and revision whatever the number of tasks that read it."""
    out: dict[tuple, set[str]] = {}
    for model in study.grid["models"]:
        ref = study.hub_model(model)
        if ref is not None:
            out.setdefault(("models", *ref), set()).update(MODEL_PATTERNS)
    for task in study.data_tasks():
        for req in _dataset_requirements(study, task):
            out.setdefault(("datasets", req.repo, req.revision), set()).update(req.allow_patterns)
    return [
        Snapshot(kind, repo, rev, tuple(sorted(p)), study.mirror)
        for (kind, repo, rev), p in sorted(out.items())
    ]


def _dataset_requirements(study, task: str) -> list:
    """A hub task's repositories and files, at the revisions the config pins (``hub.revisions``)."""
    spec = study.data_source(task)
    if spec["source"] != "hub":
        return []
    return [
        dataclasses.replace(r, revision=spec["revisions"].get(r.repo, r.revision))
        for r in needs.requirements(task, spec.get("languages"))
    ]


def dataset_snapshots(study, task: str) -> list[Snapshot]:
    """The snapshots one task's hub data are read from."""
    wanted = {(r.repo, r.revision) for r in _dataset_requirements(study, task)}
    return [s for s in snapshots(study) if s.kind == "datasets" and (s.repo, s.revision) in wanted]


def local_files(folder: Path) -> list[str]:
    """Repository paths of the files in a snapshot folder (not its manifest or hf's cache)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file()
        and p.name != hub.MANIFEST
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def missing(snapshot: Snapshot, files: list[str]) -> list[str]:
    """The required patterns no file of ``files`` matches (for a model: a sharded checkpoint
    needs its index, a BPE ``vocab.json`` its ``merges.txt``)."""
    gaps = [" or ".join(group) for group in snapshot.required if not _matching(files, group)]
    if snapshot.kind == "models":
        kept = selected(snapshot, files)
        for shards, index in (
            ("model-*-of-*.safetensors", "model.safetensors.index.json"),
            ("pytorch_model-*-of-*.bin", "pytorch_model.bin.index.json"),
        ):
            if _matching(kept, (shards,)) and index not in kept:
                gaps.append(f"{index} (the index of the {shards} shards)")
        if "vocab.json" in kept and "tokenizer.json" not in kept and "merges.txt" not in kept:
            gaps.append("merges.txt (the BPE merges beside vocab.json)")
    return gaps


def selected(snapshot: Snapshot, files: list[str]) -> list[str]:
    """The files of ``files`` the study reads (a model's safetensors, not also its .bin)."""
    return _matching(files, snapshot.wanted(files))


def _hand_filled_commit(snapshot: Snapshot) -> str | None:
    """The commit of a folder filled by hand: the revision itself, or what ``hf download
    --local-dir`` recorded in its metadata (first line of each ``.metadata`` file)."""
    if COMMIT.fullmatch(snapshot.revision):
        return snapshot.revision
    commits = set()
    for meta in (snapshot.folder / ".cache" / "huggingface" / "download").rglob("*.metadata"):
        lines = meta.read_text().splitlines()
        if lines and COMMIT.fullmatch(lines[0].strip()):
            commits.add(lines[0].strip())
    return commits.pop() if len(commits) == 1 else None


def fetch(snapshot: Snapshot) -> tuple[str, str]:
    """Download the snapshot's files from the hub: (resolved commit, how it was obtained).

    A folder that already holds every required file (filled by hand, or a site's mirror) is
    only verified: no network."""
    folder = snapshot.folder
    if local_files(folder) and not missing(snapshot, local_files(folder)):
        return _hand_filled_commit(snapshot), "mirror filled beforehand (verified, not downloaded)"
    if hub_offline():
        raise hub.MirrorError(
            f"{folder} lacks {', '.join(missing(snapshot, local_files(folder)))} and the hub is "
            f"offline (HF_HUB_OFFLINE is set): run the download where the hub can be reached, or "
            f"fill the folder by hand: {hand_command(snapshot)}"
        )
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    repo_type = hub.KINDS[snapshot.kind]
    try:
        info = HfApi().repo_info(snapshot.repo, repo_type=repo_type, revision=snapshot.revision)
        commit = info.sha
        held = [s.rfilename for s in info.siblings or []]
        snapshot_download(
            snapshot.repo,
            repo_type=repo_type,
            revision=commit,
            allow_patterns=list(snapshot.wanted(held) if held else snapshot.patterns),
            local_dir=folder,
        )
    except HfHubHTTPError as e:  # no such repository or revision, gated, hub down
        raise hub.MirrorError(
            f"{snapshot.repo}@{snapshot.revision}: the hub answered {str(e).splitlines()[0]}; "
            "check the repository id and revision (config, registry, docs/hub.md)"
        ) from None
    return commit, f"downloaded from {os.environ.get('HF_ENDPOINT', 'https://huggingface.co')}"


def hub_offline() -> bool:
    """Whether the hub is switched off here (``HF_HUB_OFFLINE``, as huggingface_hub reads it)."""
    return os.environ.get("HF_HUB_OFFLINE", "0").upper() in ("1", "ON", "YES", "TRUE")


def hand_command(snapshot: Snapshot, files: list[str] | None = None) -> str:
    """The ``hf download`` command filling the snapshot's folder: the patterns matching
    ``files`` (the repository's, where known), else every pattern the study may read."""
    patterns = snapshot.wanted(files) if files else snapshot.patterns
    includes = " ".join(f"--include {p!r}" for p in patterns)
    return (
        f"hf download {snapshot.repo} --repo-type {hub.KINDS[snapshot.kind]} --revision "
        f"{snapshot.revision} --local-dir {snapshot.folder} {includes}"
    )


def download(snapshot: Snapshot, job) -> dict:
    """Fill (or verify) one snapshot and write its manifest; the manifest's record."""
    snapshot.folder.mkdir(parents=True, exist_ok=True)
    commit, how = fetch(snapshot)
    files = local_files(snapshot.folder)
    if gaps := missing(snapshot, files):
        raise hub.MirrorError(
            f"{snapshot.repo} at revision {snapshot.revision} has no file matching "
            f"{', '.join(gaps)} (looked in {snapshot.folder}); check the config names, splits "
            "and revision in docs/hub.md, or fill the folder by hand"
        )
    # the files the grid reads (a site's mirror may hold more)
    hashes = {f: sha256_file(snapshot.folder / f) for f in selected(snapshot, files)}
    size = sum((snapshot.folder / f).stat().st_size for f in hashes)
    summary = {
        "repo": snapshot.repo,
        "kind": hub.KINDS[snapshot.kind],
        "revision": snapshot.revision,
        "commit": commit or "unknown (filled by hand at a branch; pin a commit to record it)",
        "how": how,
        "files": len(hashes),
        "bytes": size,
    }
    return job.finish(
        {},
        snapshot.manifest,
        {"summary": summary, "outputs": {str(snapshot.folder): hashes}},
    )


def cmd_download(args) -> None:
    snapshot = Snapshot(args.kind, args.repo, args.revision, tuple(args.patterns), args.mirror)
    params = {"repo": args.repo, "revision": args.revision, "patterns": args.patterns}
    job = Job(args.rule or "download", args.wildcards, params, [], args.log)
    summary = download(snapshot, job)["summary"]
    print(
        f"{snapshot.folder}: {summary['repo']}@{summary['revision']} = {summary['commit']}, "
        f"{summary['files']} files, {summary['bytes'] / 1e6:.1f} MB ({summary['how']})"
    )


def register(subparsers) -> None:
    p = subparsers.add_parser("download", help="fill one hub mirror snapshot (the download rule)")
    p.add_argument("--kind", choices=sorted(hub.KINDS), required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--revision", required=True)
    p.add_argument("--patterns", type=json.loads, required=True, help="JSON list of globs")
    p.add_argument("--mirror", required=True)
    p.set_defaults(func=cmd_download)
