"""Hugging Face hub sources: typed specs (validated when the registry is imported) and the mirror.

Every hub data set is read from a mirror folder, never from the network, laid out as
``hf download`` writes a repository:

    {mirror}/datasets/{org}/{name}/{rev}/   README.md (with its ``configs:`` block), parquet files
    {mirror}/models/{org}/{name}/{rev}/     config, tokenizer, weights

``{rev}`` is the revision with "/" written "--" (``main``, ``refs--convert--parquet``, a commit).
Each snapshot folder holds ``download.json`` (``MANIFEST``), written by the download stage: the
commit the revision resolved to and the sha256 of every file; jobs ``require`` it.
Facts about each repository (config names, splits, columns, quirks) are from
``docs/hub.md``; facts marked unverified there are checked when the data are loaded.
Stdlib only: the Snakefile reads it while planning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from xstilts.splits import SPLITS

DEFAULT_MIRROR = "resources/hub"
MAIN = "main"  # parquet files on the main branch, chosen by the README's ``configs:`` block
CONVERT = "refs/convert/parquet"  # the parquet-converter bot's branch: {config}/{split}/*.parquet
_FIELDS = {"lang", "lang3", "lang_name"}
MANIFEST = "download.json"  # a snapshot's record, written by the download stage
KINDS = {"models": "model", "datasets": "dataset"}  # mirror folder -> hub repo type
# how a sentence-transformers model pools (retrieval embeds as the model was trained)
POOLING_FILES = ("modules.json", "1_Pooling/config.json")


@dataclass(frozen=True)
class HubSource:
    """One hub configuration (per language where ``config`` has a ``{lang}`` slot) of a task.

    ``splits`` maps the study's split (train, validation, test) to the hub's split name; a split
    left out is not taken from this source. ``unlabelled`` lists hub splits where placeholder
    labels (-1, "") are expected: those rows are dropped and counted; anywhere else a placeholder
    is an error. ``data_dir`` is the repository folder holding the configuration's files
    (``{config}`` by default; ``data`` for single-config repositories). ``lang_names`` spells a
    language in the config name (``udpos.German``); ``id_prefix`` selects a language's rows of a
    multilingual configuration by id prefix (TyDiQA-GoldP: ``english-...``). ``languages``
    makes a source serve only those languages (XTREME-R's extras, from their own repositories);
    the task's sources without ``languages`` serve the rest (``sources_for``). ``multiword``
    says how the copy's rows read CoNLL-U multiword tokens when that is known (``fused`` or
    ``subtokens``, as ``xstilts.loaders.conllu``). ``unverified`` says which facts about the
    repository docs/hub.md could not verify (the loader checks them).
    """

    repo: str
    config: str
    columns: object  # one of xstilts.formats.columns.COLUMNS
    splits: dict[str, str]
    revision: str = MAIN
    data_dir: str = "{config}"
    unlabelled: tuple[str, ...] = ()
    lang_names: dict[str, str] = field(default_factory=dict)
    id_prefix: dict[str, str] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    multiword: str | None = None
    unverified: str = ""

    def __post_init__(self):
        where = f"hub source {self.repo!r} config {self.config!r}"
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", self.repo):
            raise ValueError(f"{where}: repo must be a namespaced id 'org/name'")
        unknown = set(self.splits) - set(SPLITS)
        if unknown or not self.splits:
            raise ValueError(f"{where}: splits keys {sorted(unknown)} not in {SPLITS}")
        slots = set(re.findall(r"{(\w+)}", self.config))
        if slots - _FIELDS:
            raise ValueError(f"{where}: unknown slots {sorted(slots - _FIELDS)} (know {_FIELDS})")
        if ("lang_name" in slots) != bool(self.lang_names):
            raise ValueError(f"{where}: a {{lang_name}} slot needs lang_names, and only it")
        if set(re.findall(r"{(\w+)}", self.data_dir)) - {"config"}:
            raise ValueError(f"{where}: data_dir may only use the {{config}} slot")
        if bad := set(self.unlabelled) - set(self.splits.values()):
            raise ValueError(f"{where}: unlabelled splits {sorted(bad)} are not among its splits")

    def config_name(self, lang: str) -> str:
        from xstilts.loaders.tatoeba import TATOEBA_LANG3

        return self.config.format(
            lang=lang,
            lang3=TATOEBA_LANG3.get(lang, lang),
            lang_name=self.lang_names.get(lang, lang),
        )

    def folder(self, lang: str) -> str:
        return self.data_dir.format(config=self.config_name(lang))

    def allow_patterns(self, lang: str) -> list[str]:
        """Files of this source the mirror needs for ``lang``."""
        config = self.config_name(lang)
        if self.revision == CONVERT:
            return [f"{config}/{split}/*.parquet" for split in sorted(set(self.splits.values()))]
        return ["README.md", f"{self.folder(lang)}/*"]


def sources_for(sources, lang: str) -> list[HubSource]:
    """The sources serving ``lang``: those declaring it in ``languages``, else the general ones."""
    own = [s for s in sources if lang in s.languages]
    return own or [s for s in sources if not s.languages]


def revision_dir(revision: str) -> str:
    return revision.replace("/", "--")


def dataset_dir(mirror: str | Path, repo: str, revision: str) -> Path:
    """The mirror folder of a data set repository at ``revision``."""
    return Path(mirror) / "datasets" / repo / revision_dir(revision)


def model_dir(mirror: str | Path, repo: str, revision: str) -> Path:
    """The mirror folder of a model repository at ``revision``."""
    return Path(mirror) / "models" / repo / revision_dir(revision)


class MirrorError(FileNotFoundError):
    """A snapshot the mirror lacks, or one that lacks files the study needs."""


def is_mirror_path(path: str | Path) -> bool:
    """Whether ``path`` names a snapshot folder of a mirror (``.../models/org/name/rev``; a
    folder a job of the workflow wrote, with its manifest.json, is not one)."""
    parts = Path(path).parts
    return len(parts) >= 4 and parts[-4] in KINDS and not (Path(path) / "manifest.json").is_file()


def require(path: str | Path) -> dict:
    """The manifest of a mirror snapshot a job reads; a clear error naming the missing file
    (never a network error) when the download stage has not filled it."""
    manifest = Path(path) / MANIFEST
    if not manifest.is_file():
        state = "is empty or unverified" if Path(path).is_dir() else "does not exist"
        raise MirrorError(
            f"{manifest} is missing: the hub mirror snapshot {path} {state}. Jobs read the hub "
            "only through the mirror (the hub is offline for them): run the download stage on "
            "a node with internet (snakemake --configfile <config> mirror, or the whole "
            "workflow: its download jobs run first where Snakemake runs), see xstilts preflight"
        )
    return json.loads(manifest.read_text())
