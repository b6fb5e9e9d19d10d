"""Fixture hub mirrors: local folders laid out exactly like the hub repositories the registry
names (``shared/hub/HUB.md``), filled from the real slices in ``shared/data``.

Nothing here is kept per repository. For every hub source of the given tasks (the registry's
``HubSource`` declarations) and every language and split the study reads from it, the task's
records are read from the slices by the project's own local readers (``xstilts.loaders``, the
task's ``local`` files), written back as hub rows by the inverse of the source's column spec
(``INVERSES``, keyed by the spec type), with the hub's features, splits and placeholder labels
from ``shared/hub/hub_schemas.yaml`` (or, for a repository it does not describe, from the spec),
in the layout the source declares: ``{root}/datasets/{org}/{name}/{rev}/`` with a README whose
YAML ``configs:`` block selects ``<dir>/<split>-*`` (main), ``<config>/<split>/0000.parquet``
(``refs/convert/parquet``), or ``<config>/<split>.parquet`` without ``dataset_info`` where the
spec declares integer tags without ClassLabel names (``tag_names``). A schema config whose
``format`` is ``script`` also gets its script-only ``main``. ``fixture_languages(task)`` lists
the languages covered.

What the slices lack is said in ``SLICE_FALLBACKS`` (an original file the slices do not hold ->
the slice read in its place) and ``DERIVED`` (tasks without any slice: records derived from a
related task's slice).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import datasets
import yaml
from datasets import ClassLabel, Features, List, Value
from datasets.info import DatasetInfo, DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from huggingface_hub import DatasetCardData

from xstilts import hub, read_local, registry
from xstilts.formats.columns import (
    ClassificationColumns,
    DualEncoderColumns,
    MultipleChoiceColumns,
    RetrievalColumns,
    SpanQAColumns,
    TaggingColumns,
)
from xstilts.splits import wanted_splits

datasets.disable_progress_bars()
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"
SCHEMAS = SHARED / "hub" / "hub_schemas.yaml"
SLICE_FALLBACKS = {
    "squad/train-v1.1.json": ["squad/dev-v1.1.json"],
    "squad/train-v2.0.json": ["squad/dev-v2.0.json"],
    "anli_v1.0/R[123]/train.jsonl": ["anli_csv:anli/ANLI_analysis_r[123]_dev.csv"],
    "anli_v1.0/R[123]/dev.jsonl": ["anli_csv:anli/ANLI_analysis_r[123]_dev.csv"],
    "SNLI/train.tsv": ["mnli_jsonl:mnli/mnli_train.jsonl"],  # no SNLI slice: MNLI's pairs
    "MNLI/train.tsv": ["mnli_jsonl:mnli/mnli_train.jsonl"],
    "QQP/train.tsv": ["qqp/dev.tsv"],
    "QQP/dev.tsv": ["qqp/dev.tsv"],
    "cosmosqa/train.csv": ["cosmosqa/valid.csv"],
    "commonsenseqa/train_rand_split.jsonl": ["commonsenseqa/dev_rand_split.jsonl"],
    "xnli/test-{lang}.tsv": ["xnli/dev-{lang}.tsv"],
    "xnli/XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv": ["xtreme_pair_tsv:xnli/dev-{lang}.tsv"],
    "pawsx/train-en.tsv": ["pawsx/dev-en.tsv"],
    "pawsx/test-{lang}.tsv": ["pawsx/dev-{lang}.tsv"],
    # UD v2.5 dev sliced for English only; no UD v2.7 slice of XTREME-R's extras (German's)
    "udpos/{lang}_*-ud-dev.conllu": ["udpos/{lang}_*-ud-test.conllu"],
    "udpos/{lang}_*-ud-test.conllu": ["udpos/de_*-ud-test.conllu"],
    # PAN-X / WikiANN: the Afrikaans mmner export for every language
    "panx/panx_dataset/en/train": ["panx_csv:panx/af_train/truth.csv"],
    "panx/panx_dataset/{lang}/dev": ["panx_csv:panx/af_dev/truth.csv"],
    "panx/panx_dataset/{lang}/test": ["panx_csv:panx/af_test/truth.csv"],
    "mlqa/MLQA_V1/test/test-context-{lang}-question-{lang}.json": [
        "mlqa/MLQA_V1/dev/dev-context-{lang}-question-{lang}.json"
    ],
    # TyDiQA-GoldP: only XTREME's per-language train files were sliced (en, ko, sw)
    "tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.en.dev.json": [
        "tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json"
    ],
    "tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json": [
        "tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.{lang}.train.json"
    ],
    # no Tatoeba slice of XTREME-R's extras: the Turkish one
    "tatoeba/tatoeba.{lang3}-eng.{lang3}": ["tatoeba/tatoeba.tur-eng.tur"],
}
"""An original file (a task's ``local`` pattern) the slices do not hold -> the slices read in
its place (the first that exists; ``loader:`` as in ``local``)."""


# --- a task's records, read from the slices by the project's local readers ---
def _read_slice(task, loader: str | None, pattern: str, lang: str, root: Path) -> list[dict]:
    """Records of one ``local`` pattern, or of its first fallback whose files exist."""
    source = next((s for s in task.hub if s.multiword), None)  # how the hub copy reads UD
    multiword = source.multiword if source else task.multiword
    tries = [(loader, pattern), *read_local._patterns(SLICE_FALLBACKS.get(pattern, []))]
    for part_loader, part in tries:
        paths = read_local._files(root, part, lang)
        if paths:
            part_loader = part_loader or task.local["loader"]
            return [r for p in paths for r in read_local._read(part_loader, p, lang, multiword)]
    return []


def _records(task, lang: str, split: str, root: Path) -> list[dict]:
    """The task's records of ``split`` in ``lang`` as its ``local`` files give them."""
    if task.name in DERIVED:
        return DERIVED[task.name](lang, split, root)
    rows = []
    for loader, pattern in read_local._patterns(task.local.get(split)):
        if "{lang" in pattern or lang == "en":  # a file without a language slot: English
            rows += _read_slice(task, loader, pattern, lang, root)
    if not rows:
        raise FileNotFoundError(f"no slice for task {task.name} {split}.{lang} in {root}")
    return rows


def _cosmos(split: str, root: Path, choices: int) -> list[dict]:
    rows = _records(registry.get("cosmosqa"), "en", split, root)
    return [{**r, "choices": r["choices"][:choices]} for r in rows if r["label"] < choices]


def _sst2(lang: str, split: str, root: Path) -> list[dict]:
    rows = _records(registry.get("mnli"), "en", split, root)
    return [{**r, "text_b": "", "label": str(int(r["label"] == "entailment"))} for r in rows]


def _siqa(lang: str, split: str, root: Path) -> list[dict]:
    return [
        {**r, "context": f"{r['context']} {r['question']}", "question": ""}
        for r in _cosmos(split, root, 3)
    ]


def _copa(lang: str, split: str, root: Path) -> list[dict]:
    rows = _cosmos("validation", root, 2)  # every split: CosmosQA has no test slice
    return [
        {
            **r,
            "context": f"{r['context']} What was the {('cause', 'effect')[i % 2]}?",
            "question": "",
        }
        for i, r in enumerate(rows)
    ]


DERIVED = {
    "sst2": _sst2,  # no SST-2 slice: MNLI premises, label = entailment or not
    "siqa": _siqa,  # no SIQa slice: CosmosQA rows with answers 0-2, context and question joined
    "copa": _copa,  # no COPA slice: CosmosQA contexts and answers 0-1, cause/effect alternating
    "xcopa": _copa,  # no XCOPA slice: as COPA, in every language
}
"""Tasks without a slice -> their records (lang, split, data root) from a related task's."""


# --- the hub's features (hub_schemas.yaml, else the column spec) ---
_SCALARS = {name: Value(name) for name in ("string", "int32", "int64", "bool")}


def _feature(spec):
    """A ``datasets`` feature from hub_schemas.yaml's notation (its ``_meta``)."""
    if isinstance(spec, str):
        inner = re.fullmatch(r"list\[(\w+)\]", spec)
        return List(_SCALARS[inner.group(1)]) if inner else _SCALARS[spec]
    if "class_label" in spec:
        return ClassLabel(names=spec["class_label"])
    if "list_class_label" in spec:
        return List(ClassLabel(names=spec["list_class_label"]))
    return {key: _feature(value) for key, value in spec.items()}


def _schema(repo: str, config: str) -> dict | None:
    """The hub_schemas.yaml entry of ``config`` of ``repo`` (None: not described)."""
    for key, entry in _schemas().get(repo, {}).items():
        pattern = entry.get("pattern")
        names = [pattern.format(lang=x) for x in entry.get("languages", [])] if pattern else [key]
        if config in names and entry.get("features"):
            return entry
    return None


@functools.cache
def _schemas() -> dict:
    return yaml.safe_load(SCHEMAS.read_text(encoding="utf-8"))


def _spec_features(task, columns) -> Features:
    """Features of a repository hub_schemas.yaml does not describe, from its column spec."""
    s = Value("string")
    if isinstance(columns, ClassificationColumns):
        names = [_hub_label(columns, label) for label in task.labels]
        named = (columns.text_a, columns.text_b, columns.label, columns.id)
        kinds = (s, s, ClassLabel(names=names), s)
        return Features({c: k for c, k in zip(named, kinds, strict=True) if c})
    if isinstance(columns, TaggingColumns):
        tags = Value("int64") if columns.tag_names else ClassLabel(names=list(task.labels))
        return Features({columns.tokens: List(s), columns.tags: List(tags)})
    if isinstance(columns, RetrievalColumns):
        return Features({columns.source: s, columns.target: s})
    raise KeyError(f"no features for {type(columns).__name__} outside hub_schemas.yaml")


def _hub_label(columns, label: str) -> str:
    """The hub's spelling of a registry label (``label_map`` read backwards)."""
    back = {v: k for k, v in (columns.label_map or {}).items()}
    return back.get(label, label)


def _encode(value, feature, i: int = 0):
    """``value`` (a label name, an index, an id) as ``feature`` stores it."""
    if isinstance(feature, ClassLabel):
        return value if isinstance(value, int) else feature.names.index(value)
    if feature.dtype.startswith("int"):
        return int(value) if str(value).lstrip("-").isdigit() else i
    return str(value)


def _placeholder(feature):
    """The hub's "no gold label": -1 for an index, "" for a string."""
    if isinstance(feature, List):
        return []
    return "" if getattr(feature, "dtype", "int64") == "string" else -1


def _default(name: str, feature, row: dict, lang: str, i: int):
    """A hub column the spec does not read: its empty value (``langs``: one per token)."""
    if name == "langs":
        return [lang] * len(next(v for v in row.values() if isinstance(v, list)))
    if isinstance(feature, dict):
        return {k: [] for k in feature}
    if isinstance(feature, List):
        return []
    if isinstance(feature, ClassLabel) or feature.dtype.startswith("int"):
        return i
    return False if feature.dtype == "bool" else ""


# --- a record as the hub row its column spec reads (one inverse per spec type) ---
def _classification_row(cols: ClassificationColumns, r: dict, i: int, f: Features) -> dict:
    row = {
        cols.text_a: r["text_a"],
        cols.label: _encode(_hub_label(cols, r["label"]), f[cols.label]),
    }
    if cols.text_b:
        row[cols.text_b] = r["text_b"]
    if cols.id:
        row[cols.id] = _encode(r.get("id", i), f[cols.id], i)
    return row


def _tagging_row(cols: TaggingColumns, r: dict, i: int, f: Features) -> dict:
    names = cols.tag_names or f[cols.tags].feature.names
    return {cols.tokens: r["tokens"], cols.tags: [list(names).index(t) for t in r["tags"]]}


def _span_qa_row(cols: SpanQAColumns, r: dict, i: int, f: Features) -> dict:
    text = str.strip if cols.stripped else str
    answers = {"text": [text(a) for a in r["answers"]["text"]]}
    answers["answer_start"] = r["answers"]["answer_start"]
    row = {cols.id: r["id"], cols.context: text(r["context"]), cols.question: text(r["question"])}
    if cols.title:
        row[cols.title] = r["title"]
    return {**row, cols.answers: {k: answers[k] for k in f[cols.answers]}}


def _multiple_choice_row(cols: MultipleChoiceColumns, r: dict, i: int, f: Features) -> dict:
    row, choices, label = {}, r["choices"], r["label"]
    keys = [chr(ord("A") + k) for k in range(len(choices))]
    if cols.choice_columns:
        row.update(zip(cols.choice_columns, choices, strict=True))
    elif cols.choice_text:
        row[cols.choices] = {"label": keys, cols.choice_text: choices}
    else:
        row[cols.choices] = choices
    row[cols.label] = {
        "index": label,
        "index_string": str(label),
        "one_based_string": str(label + 1),
        "choice_key": keys[label],
        "choice_column": label,
    }[cols.label_kind]
    if cols.context_template:  # the template's columns, read back from the record's context
        fields = re.escape(cols.context_template)
        fields = re.sub(r"\\{(\w+)\\}", r"(?P<\1>.*)", fields)
        row.update(re.fullmatch(fields, r["context"], re.S).groupdict())
    elif cols.context:
        row[cols.context] = r["context"]
    if cols.question:
        row[cols.question] = r["question"]
    if cols.id:
        row[cols.id] = _encode(r["id"], f[cols.id], i)
    return row


def _retrieval_row(cols: RetrievalColumns, r: dict, i: int, f: Features) -> dict:
    return {cols.source: r["source"], cols.target: r["target"]}


INVERSES = {
    ClassificationColumns: _classification_row,
    TaggingColumns: _tagging_row,
    SpanQAColumns: _span_qa_row,
    MultipleChoiceColumns: _multiple_choice_row,
    RetrievalColumns: _retrieval_row,
}
"""Column spec type -> record to hub row (``DualEncoderColumns`` rows are SQuAD's: written from
the span-QA task that reads the same configuration)."""


def _rows(source, lang: str, records: list[dict], features: Features) -> list[dict]:
    """Hub rows of ``records``: the spec's columns, the others empty; ids made unique and given
    the language's declared prefix (a multilingual configuration)."""
    inverse = INVERSES[type(source.columns)]
    prefix = source.id_prefix.get(lang, "")
    rows, seen = [], set()
    for i, record in enumerate(records):
        row = inverse(source.columns, record, i, features)
        id_column = getattr(source.columns, "id", None)
        if prefix or isinstance(source.columns, SpanQAColumns):
            row[id_column] = f"{prefix}{row[id_column]}"
            if row[id_column] in seen:  # XTREME's shortened ids repeat
                row[id_column] = f"{row[id_column]}-{i}"
            seen.add(row[id_column])
        rows.append(
            {k: row[k] if k in row else _default(k, v, row, lang, i) for k, v in features.items()}
        )
    return rows


# --- writing repositories ---
def _card(entries: list[dict], infos: dict | None = None) -> str:
    card = DatasetCardData()
    if infos:
        DatasetInfosDict(infos).to_dataset_card_data(card)
    card.configs = entries
    return f"---\n{card.to_yaml()}\n---\n\nFixture built from shared/data (tests/hub_mirror.py).\n"


def _write_main(folder: Path, configs: dict[str, dict[str, datasets.Dataset]], dirs: dict):
    """Main-branch layout: ``{dir}/{split}-00000-of-00001.parquet``, and a README whose YAML has
    the ``configs:`` block (data files per split) and ``dataset_info`` (features, split sizes),
    as ``datasets-cli convert_to_parquet`` writes it."""
    infos, entries = {}, []
    for config, splits in configs.items():
        data_dir = dirs[config]
        sizes = SplitDict()
        for split, ds in splits.items():
            path = folder / data_dir / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(path))
            sizes.add(SplitInfo(name=split, num_bytes=ds.data.nbytes, num_examples=len(ds)))
        features = next(iter(splits.values())).features
        infos[config] = DatasetInfo(features=features, splits=sizes, config_name=config)
        files = [{"split": split, "path": f"{data_dir}/{split}-*"} for split in splits]
        entries.append({"config_name": config, "data_files": files})
    (folder / "README.md").write_text(_card(entries, infos), encoding="utf-8")


def _write_plain(folder: Path, configs: dict[str, dict[str, datasets.Dataset]], dirs: dict):
    """A copy without ClassLabel names: one ``{dir}/{split}.parquet`` per split, written without
    the ``huggingface`` schema metadata, and a README with ``configs:`` but no ``dataset_info``."""
    import pyarrow.parquet as pq

    entries = []
    for config, splits in configs.items():
        files = []
        for split, ds in splits.items():
            path = folder / dirs[config] / f"{split}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(ds.data.table.replace_schema_metadata(None), path)
            files.append({"split": split, "path": f"{dirs[config]}/{split}*"})
        entries.append({"config_name": config, "data_files": files})
    (folder / "README.md").write_text(_card(entries), encoding="utf-8")


def _write_convert(folder: Path, configs: dict[str, dict[str, datasets.Dataset]], dirs: dict):
    """``refs/convert/parquet`` layout: ``{config}/{split}/0000.parquet``, no configs README."""
    for config, splits in configs.items():
        for split, ds in splits.items():
            path = folder / config / split / "0000.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(path))


def _write_script(root: Path, repo: str):
    """The script-only ``main`` the hub serves for a repository not converted there."""
    main = hub.dataset_dir(root, repo, hub.MAIN)
    main.mkdir(parents=True, exist_ok=True)
    (main / f"{repo.split('/')[1]}.py").write_text("# the loading script the hub still serves\n")
    (main / "README.md").write_text(f"---\nlicense: unknown\n---\n# {repo}\n")


def _writer(source):
    if source.revision == hub.CONVERT:
        return _write_convert
    if getattr(source.columns, "tag_names", None):
        return _write_plain
    return _write_main


# --- a repository from its declarations ---
class _Config:
    """One hub configuration being filled: its source, features and rows per hub split."""

    def __init__(self, task, source, lang: str):
        self.source, self.lang = source, lang
        self.schema = _schema(source.repo, source.config_name(lang))
        if self.schema:
            self.features = Features({k: _feature(v) for k, v in self.schema["features"].items()})
        else:
            self.features = _spec_features(task, source.columns)
        self.splits: dict[str, list[dict]] = {}
        self.filled: set = set()

    def add(self, source, lang: str, hub_split: str, records: list[dict]):
        if (hub_split, lang) in self.filled:
            return
        self.filled.add((hub_split, lang))
        rows = _rows(source, lang, records, self.features)
        if hub_split in source.unlabelled and len(rows) > 1:  # the hub's -1 pairs
            rows[1] = {**rows[1], **self._unlabelled(source)}
        self.splits.setdefault(hub_split, []).extend(rows)

    def _unlabelled(self, source) -> dict:
        """The label columns holding the hub's "no gold label"."""
        return {c: _placeholder(self.features[c]) for c in source.columns.label_columns()}

    def datasets(self) -> dict[str, datasets.Dataset]:
        """Every split the hub has: those read, the others copies of the first (a test split
        with placeholder labels, as the hub serves them)."""
        names = list((self.schema or {}).get("splits") or self.splits)
        names += [s for s in self.splits if s not in names]
        first = next(iter(self.splits.values()))
        out = {}
        for name in names:
            rows = self.splits.get(name)
            if rows is None:
                rows = first
                if name.startswith("test"):
                    rows = [{**r, **self._unlabelled(self.source)} for r in rows]
            out[name] = datasets.Dataset.from_list(rows, features=self.features)
        return out


def _write_repos(root: Path, repos: dict) -> dict[str, Path]:
    built = {}
    for (repo, revision), configs in sorted(repos.items()):
        folder = hub.dataset_dir(root, repo, revision)
        built[f"{repo}@{revision}"] = folder
        if folder.is_dir():  # built by an earlier call
            continue
        configs = dict(sorted(configs.items()))  # the card lists configs by name
        first = next(iter(configs.values()))
        dirs = {name: c.source.folder(c.lang) for name, c in configs.items()}
        _writer(first.source)(folder, {n: c.datasets() for n, c in configs.items()}, dirs)
        if any(c.schema and c.schema.get("format") == "script" for c in configs.values()):
            _write_script(root, repo)
    return built


def write_source(root: str | Path, task_name: str, records: dict[str, dict[str, list]]) -> Path:
    """Write a task's (single) hub source into the mirror ``root`` as its declaration says (repo,
    revision, config per language, data folder, split names, columns), from ``records``
    (``{lang: {split: [record]}}``, the study's splits and record fields); returns the folder."""
    task = registry.get(task_name)
    (source,) = task.hub
    configs = {}
    for lang, splits in records.items():
        config = configs.setdefault(source.config_name(lang), _Config(task, source, lang))
        for split, rows in splits.items():
            config.add(source, lang, source.splits[split], rows)
    return _write_repos(Path(root), {(source.repo, source.revision): configs}).popitem()[1]


def fixture_languages(task_name: str, data: Path = SHARED_DATA) -> tuple[str, ...]:
    """The languages of a task that the fixture mirror covers (those with a real slice, and the
    languages benchmarks add, after the registry's: XTREME-R's extras)."""
    task = registry.get(task_name)
    extras = tuple(lang for lang in task.known_languages if lang not in task.languages)
    covered = {
        "udpos": {p.name.split("_")[0] for p in (data / "udpos").glob("*-ud-test.conllu")}
        | set(extras),
        "panx": {"af", "en", *extras},
        "tydiqa": {"en", "ko", "sw"},
    }.get(task_name)
    return tuple(lang for lang in task.known_languages if covered is None or lang in covered)


def build_mirror(root: str | Path, tasks=None, data: Path = SHARED_DATA) -> dict[str, Path]:
    """Write the fixture repositories the ``tasks``' hub sources need (default: every task's)
    under ``root`` (a ``hub.mirror``); returns ``{"repo@revision": folder}``."""
    names = registry.TASKS if tasks is None else tasks
    repos: dict[tuple[str, str], dict[str, _Config]] = {}
    for name in names:
        task = registry.restrict(registry.get(name), fixture_languages(name))
        for split, lang in wanted_splits(task):
            for source in hub.sources_for(task.hub, lang):
                if split not in source.splits or isinstance(source.columns, DualEncoderColumns):
                    continue
                configs = repos.setdefault((source.repo, source.revision), {})
                config = source.config_name(lang)
                if config not in configs:
                    configs[config] = _Config(task, source, lang)
                if (source.splits[split], lang) not in configs[config].filled:
                    records = _records(task, lang, split, Path(data))
                    configs[config].add(source, lang, source.splits[split], records)
    return _write_repos(Path(root), repos)
