"""Prepare a task's data: from the hub, original files, or the synthetic generator, to Arrow.

Every task becomes a ``datasets.DatasetDict`` whose splits are named ``{split}.{lang}``
(``train.en``, ``validation.en``, ``test.de``...) and whose rows follow the task format's
canonical record (see ``xstilts.formats``). The same prepared data serves every model and seed.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
from pathlib import Path

from xstilts import registry, synthetic
from xstilts.formats import dual_encoder
from xstilts.loaders import (
    LOADERS,
    TATOEBA_LANG3,
    DataFormatError,
    load_bucc,
    load_tatoeba_pair,
)
from xstilts.loaders.ccgbank import CCGBANK_HELP

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


def split_name(split: str, lang: str) -> str:
    return f"{split}.{lang}"


def parse_split(name: str) -> tuple[str, str]:
    split, _, lang = name.partition(".")
    return split, lang


def wanted_splits(task, validation_languages: bool = True) -> list[tuple[str, str]]:
    """(split, language) pairs a task provides: English train where it is trained, English
    validation (checkpoint selection), and for a target validation and test in every language
    (synthetic data skips the non-English validation splits: ``validation_languages=False``)."""
    if task.format == "retrieval":  # no training; BUCC's dev set tunes its threshold
        splits = [s for s in ("validation", "test") if s in task.local]
        return [(s, lang) for s in splits for lang in task.languages]
    out = []
    if task.role == "intermediate":  # English, or every language of a translated variant
        out += [("train", lang) for lang in task.languages]
    elif task.train_task == task.name:
        out.append(("train", "en"))
    out.append(("validation", "en"))
    if task.role == "target":
        if validation_languages:
            out += [("validation", lang) for lang in task.languages if lang != "en"]
        out += [("test", lang) for lang in task.languages]
    return out


# --- retrieval records ---
def bucc_rows(corpus: dict) -> list[dict]:
    """A BUCC corpus (``source``, ``target``, ``gold`` pairs) as one row per sentence."""
    gold: dict[str, list[str]] = {}
    for src, tgt in corpus["gold"]:
        gold.setdefault(src, []).append(tgt)
    return [
        {"id": s["id"], "text": s["text"], "side": "source", "gold": gold.get(s["id"], [])}
        for s in corpus["source"]
    ] + [{"id": t["id"], "text": t["text"], "side": "target", "gold": []} for t in corpus["target"]]


def bucc_corpus(rows) -> dict:
    """The inverse of :func:`bucc_rows`."""
    rows = list(rows)
    return {
        "source": [{"id": r["id"], "text": r["text"]} for r in rows if r["side"] == "source"],
        "target": [{"id": r["id"], "text": r["text"]} for r in rows if r["side"] == "target"],
        "gold": [(r["id"], g) for r in rows if r["side"] == "source" for g in r["gold"]],
    }


# --- synthetic ---
def _synthetic(task, n: int, lang: str, seed: int) -> list[dict]:
    if task.format == "classification":
        return synthetic.classification(lang, n, seed, task.labels)
    if task.format == "tagging":
        return synthetic.tagging(lang, n, seed, task.labels or synthetic.SUPERTAGS)
    if task.format == "span_qa":
        return synthetic.span_qa(lang, n, seed)
    if task.format == "multiple_choice":
        return synthetic.multiple_choice(lang, n, seed, task.num_labels)
    if task.name == "bucc":
        return bucc_rows(synthetic.bitext(lang, n, seed))
    if task.format == "retrieval":
        return synthetic.parallel(lang, n, seed)
    raise ValueError(f"no synthetic generator for format {task.format!r} (task {task.name})")


def _synthetic_ranking(task, cfg: dict) -> dict[str, list[dict]]:
    """Retrieval queries per (split, language) and, for a target, each language's candidates.
    Mewsli-X has one gold entity per mention, LAReQA the answer in every language."""
    one = task.name == "mewslix"
    out, items = {}, {}
    for split, lang in wanted_splits(task, validation_languages=False):
        n = cfg["train_size"] if split == "train" else cfg["eval_size"]
        rows = synthetic.ranking(lang, split, n, cfg["seed"], task.languages, one)
        out[split_name(split, lang)] = rows
        if split != "train":
            items[split] = n
    if task.role == "target":
        for lang in task.languages:
            pool = synthetic.ranking_candidates(lang, items, cfg["seed"], task.languages, one)
            if pool:
                out[split_name(dual_encoder.CANDIDATES, lang)] = pool
    return out


def load_synthetic(task, spec: dict) -> dict[str, list[dict]]:
    cfg = spec["synthetic"]
    if task.format == "dual_encoder":
        return _synthetic_ranking(task, cfg)
    out = {}
    for i, (split, lang) in enumerate(wanted_splits(task, validation_languages=False)):
        n = cfg["train_size"] if split == "train" else cfg["eval_size"]
        out[split_name(split, lang)] = _synthetic(task, n, lang, cfg["seed"] * 1000 + i)
    return out


# --- original files ---
def _patterns(value) -> list[tuple[str | None, str]]:
    """(loader override, glob pattern) pairs of a ``files`` entry: one pattern or a list, each
    optionally prefixed ``loader:`` when a split mixes formats (ANLI+: ANLI, SNLI, MNLI)."""
    out = []
    for item in [value] if isinstance(value, str) else list(value or []):
        loader, sep, pattern = item.partition(":")
        out.append((loader, pattern) if sep and loader in LOADERS else (None, item))
    return out


def _files(root: Path, pattern: str, lang: str) -> list[Path]:
    name = pattern.format(lang=lang, lang3=TATOEBA_LANG3.get(lang, lang))
    return sorted(Path(p) for p in glob.glob(str(root / name)))


def _read(loader: str, path: Path, lang: str) -> list[dict]:
    """Rows of one original file; multi-file formats find their siblings from ``path``."""
    if loader == "bucc":  # {lang}-en.{split}.gold beside .{lang} and .en
        return bucc_rows(load_bucc(path.with_suffix(f".{lang}"), path.with_suffix(".en"), path))
    if loader == "tatoeba":  # tatoeba.{lang3}-eng.{lang3} beside .eng
        return load_tatoeba_pair(path, path.with_suffix(".eng"))
    if loader == "xquad_r":  # candidate ids carry the language
        return LOADERS[loader](path, lang)
    return LOADERS[loader](path)


def split_ranking(rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Retrieval files read as queries and candidates (``kind``): queries stay in their split,
    each language's candidates (of every split) form ``candidates.{lang}``, and each query's
    ``gold`` is every candidate, of any language, that carries one of its ``gold_keys``."""
    out: dict[str, list[dict]] = {}
    pools: dict[str, dict[str, dict]] = {}
    for name, split_rows in rows.items():
        lang = parse_split(name)[1]
        for r in split_rows:
            if r.get("kind") == "candidate":
                pools.setdefault(lang, {})[r["id"]] = r
            else:
                out.setdefault(name, []).append(r)
    by_key: dict[str, list[str]] = {}
    texts = {r["id"]: r["text"] for pool in pools.values() for r in pool.values()}
    for pool in pools.values():
        for r in pool.values():
            for key in r["keys"]:
                by_key.setdefault(key, []).append(r["id"])
    for name, queries in out.items():
        resolved = []
        for q in queries:
            if "gold_keys" not in q:  # training pairs
                resolved.append(q)
                continue
            gold = sorted({c for key in q["gold_keys"] for c in by_key.get(key, [])})
            if not gold:
                raise DataFormatError(f"{name}: query {q['id']!r} has no candidate among the files")
            text = q["candidate"] or texts[gold[0]]  # the pair for checkpoint selection
            resolved.append({"id": q["id"], "query": q["query"], "candidate": text, "gold": gold})
        out[name] = resolved
    for lang, pool in pools.items():
        out[split_name(dual_encoder.CANDIDATES, lang)] = [
            {"id": r["id"], "text": r["text"]} for r in pool.values()
        ]
    return out


def _check_root(task, root: Path) -> None:
    if root.is_dir():
        return
    key = f"data.tasks.{task.name}.root" if task.name == "ccg" else "data.root"
    extra = f" {CCGBANK_HELP}" if task.name == "ccg" else ""
    raise DataFormatError(
        f"{root} is not a folder (task {task.name}, source: local); point {key} at the folder "
        f"holding the original files.{extra}"
    )


def load_local(task, spec: dict) -> dict[str, list[dict]]:
    """Read the original files named by the registry (or the config's ``files``) under ``root``."""
    root = Path(spec["root"])
    files = {
        **{k: v for k, v in task.local.items() if k in (*SPLITS, "candidates")},
        **spec["files"],
    }
    loader = spec.get("loader") or task.local.get("loader")
    if loader not in LOADERS:
        raise DataFormatError(
            f"task {task.name}: data loader {loader!r} unknown (config key "
            f"data.tasks.{task.name}.loader); known loaders: {', '.join(sorted(LOADERS))}"
        )
    _check_root(task, root)
    out, missing = {}, []
    for split, lang in wanted_splits(task):
        rows, looked = [], []
        for part_loader, pattern in _patterns(files.get(split)):
            if "{lang" not in pattern and lang != "en":
                continue  # a file without a language slot holds English only
            looked.append(str(root / pattern))
            for path in _files(root, pattern, lang):
                rows += _read(part_loader or loader, path, lang)
        if rows:
            out[split_name(split, lang)] = rows
        elif split == "train":
            raise DataFormatError(
                f"task {task.name}: no training file for {lang} (looked for "
                f"{', '.join(looked) or 'nothing: the task names no train files'})"
            )
        else:
            missing.append(split_name(split, lang))
    if files.get("candidates"):  # one candidate pool for every language (Mewsli-X's entities)
        pool = [
            r
            for part_loader, pattern in _patterns(files["candidates"])
            for path in _files(root, pattern, "all")
            for r in _read(part_loader or loader, path, "all")
        ]
        if not pool:
            raise DataFormatError(f"task {task.name}: no candidates file {files['candidates']}")
        out[split_name(dual_encoder.CANDIDATES, "all")] = pool
    if not out:
        raise DataFormatError(f"task {task.name}: no data files found under {root}")
    if missing:
        log.warning("task %s: no local files for %s", task.name, ", ".join(missing))
    return split_ranking(out) if task.format == "dual_encoder" else out


# --- hub (cluster) ---
TYDIQA_LANG_NAMES = dict(
    ar="arabic",
    bn="bengali",
    en="english",
    fi="finnish",
    id="indonesian",
    ko="korean",
    ru="russian",
    sw="swahili",
    te="telugu",
)


def _hub_parts(hub: dict) -> list[dict]:
    """The hub sources of a task: one, or several concatenated (ANLI+), ANLI's per round."""
    parts = []
    for part in hub.get("parts", [hub]):
        for r in part.get("rounds", (None,)):
            parts.append(
                {
                    k: v.format(round=r) if isinstance(v, str) and r is not None else v
                    for k, v in part.items()
                    if k != "rounds"
                }
            )
    return parts


def load_hub(task, spec: dict) -> dict[str, list[dict]]:
    """Load from the Hugging Face hub as declared in the registry's ``hub`` entry."""
    import datasets

    if not task.hub:
        raise DataFormatError(
            f"task {task.name} has no hub source (the hub copy lacks what its metric needs, or "
            f"the data is licensed); set data.tasks.{task.name}.source to local and its root"
        )
    out: dict[str, list[dict]] = {}
    for base in _hub_parts(task.hub):
        for split, lang in wanted_splits(task):
            part = {**base, **base.get("by_language", {}).get(lang, {})}
            hub_split = part.get(split, split)
            if hub_split is None:  # this part does not contribute to this split
                continue
            name = part.get("name", "").format(
                lang=lang,
                lang3=TATOEBA_LANG3.get(lang, lang),
                lang_name=part.get("lang_names", {}).get(lang, lang),
            )
            try:
                ds = datasets.load_dataset(
                    part["path"], name or None, split=hub_split, revision=part.get("revision")
                )
            except ValueError as e:  # a split or configuration the hub copy does not have
                log.warning("task %s: no hub data for %s.%s (%s)", task.name, split, lang, e)
                continue
            if part.get("language_from_id"):  # TyDiQA-GoldP: ids start with the language name
                prefix = TYDIQA_LANG_NAMES[lang] + "-"
                ds = ds.filter(lambda r, prefix=prefix: r["id"].startswith(prefix))
            rows = [_from_hub(task, part, row, i) for i, row in enumerate(ds)]
            out.setdefault(split_name(split, lang), []).extend(r for r in rows if r is not None)
    return out


def _from_hub(task, part: dict, row: dict, i: int) -> dict | None:
    """A hub row in the canonical record of the task's format (None: a row without gold label,
    as SNLI's annotator-disagreement pairs)."""
    cols = part.get("columns", {})

    def get(key, default=None):
        return row.get(cols.get(key, key), default)

    if task.format == "classification":
        label = get("label")
        if isinstance(label, int) and label < 0:
            return None
        label = task.labels[label] if isinstance(label, int) else str(label)
        return {
            "id": str(get("id", i)),
            "text_a": get("text_a"),
            "text_b": get("text_b") or "",
            "label": label,
        }
    if task.format == "tagging":
        tags = get("tags")
        if tags and isinstance(tags[0], int):
            tags = [task.labels[t] for t in tags]
        return {"id": str(get("id", i)), "tokens": get("tokens"), "tags": tags}
    if task.format == "span_qa":
        return {
            "id": str(get("id", i)),
            "title": get("title", ""),
            "context": get("context"),
            "question": get("question"),
            "answers": get("answers"),
        }
    if task.format == "multiple_choice":
        choices = get("choices")
        if isinstance(choices, dict):  # CommonsenseQA: {"label": [...], "text": [...]}
            choices = choices["text"]
        if choices is None:
            choices = [row[c] for c in part["choice_columns"]]
        label = get("answerKey", get("label"))
        label = task.labels.index(label) if label in task.labels else int(label or -1)
        if "context_template" in part:  # COPA, SIQa: XTREME-R's first segment, choice second
            context, question = part["context_template"].format(**row), ""
        else:
            context, question = part.get("context", get("context", "")), get("question", "")
        return {
            "id": str(get("id", i)),
            "context": context,
            "question": question,
            "choices": list(choices),
            "label": label,
        }
    if task.format == "retrieval":
        return {"id": str(i), "source": get("source"), "target": get("target")}
    if task.format == "dual_encoder":  # SQuAD v1.1 as LAReQA's training pairs
        from xstilts.loaders.lareqa import squad_pair

        start = get("answers")["answer_start"][0]
        return squad_pair(str(get("id", i)), get("question"), get("context"), start)
    raise ValueError(f"no hub adapter for format {task.format!r} (task {task.name})")


LOADERS_BY_SOURCE = {"synthetic": load_synthetic, "local": load_local, "hub": load_hub}


def _encode_labels(task, rows: list[dict], where: str) -> list[dict]:
    if task.format != "classification":
        return rows
    index = {name: i for i, name in enumerate(task.labels)}
    out = []
    for row in rows:
        if row["label"] not in index:
            raise DataFormatError(
                f"{where}: row {row['id']!r} has label {row['label']!r}; "
                f"task {task.name} expects one of {list(task.labels)}"
            )
        out.append({**row, "label": index[row["label"]]})
    return out


LABELS_FILE = "labels.json"


def resolve(task_name: str, folder: Path):
    """The task, with its label inventory read from prepared data when the registry has none
    (CCG supertags are whatever the training data holds)."""
    task = registry.get(task_name)
    labels = Path(folder) / LABELS_FILE
    if task.labels or not labels.is_file():
        return task
    return dataclasses.replace(task, labels=tuple(json.loads(labels.read_text())))


def _tag_inventory(rows: dict[str, list[dict]]) -> list[str]:
    tags = {
        t
        for name, split in rows.items()
        if name.startswith("train")
        for r in split
        for t in r["tags"]
    }
    return sorted(tags)


def prepare(task_name: str, spec: dict, out_dir: Path) -> dict:
    """Load ``task_name`` from ``spec['source']`` and save it to ``out_dir``; returns a summary.
    ``spec['languages']`` (the config's benchmark's set) replaces the registry's languages."""
    import datasets

    task = registry.get(task_name)
    if spec.get("languages"):
        task = dataclasses.replace(task, languages=tuple(spec["languages"]))
    rows = LOADERS_BY_SOURCE[spec["source"]](task, spec)
    cap = spec.get("max_eval_examples")
    dd = datasets.DatasetDict()
    for name, split_rows in rows.items():
        if cap and not name.startswith("train"):
            split_rows = split_rows[:cap]
        dd[name] = datasets.Dataset.from_list(
            _encode_labels(task, split_rows, f"task {task_name} split {name}")
        )
    dd.save_to_disk(str(out_dir))
    if task.format == "tagging" and not task.labels:
        (Path(out_dir) / LABELS_FILE).write_text(json.dumps(_tag_inventory(rows)))
    return {
        "task": task_name,
        "source": spec["source"],
        "rows": {name: len(ds) for name, ds in dd.items()},
        "fingerprints": {name: ds._fingerprint for name, ds in dd.items()},
        "splits_missing": sorted(
            {split_name(*s) for s in wanted_splits(task, spec["source"] != "synthetic")} - set(dd)
        ),
    }
