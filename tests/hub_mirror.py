"""Fixture hub mirrors: local folders laid out exactly like the hub repositories the registry
names (``shared/hub/HUB.md``), filled from the real slices in ``shared/data``.

``build_mirror(root, tasks=None)`` writes, for every hub source of the given tasks (all tasks by
default), ``{root}/datasets/{org}/{name}/{rev}/`` as ``hf download`` would: a README whose YAML
``configs:`` block selects ``<dir>/<split>-*`` per config (main branch), or
``<config>/<split>/0000.parquet`` (``refs/convert/parquet``), parquet files written by
``datasets`` (so the ``huggingface`` schema metadata carries the features and ``ClassLabel``
names), the hub's config, split and column names, and its quirks: GLUE/CosmosQA test labels -1,
HellaSwag / CommonsenseQA test labels "", SNLI -1 pairs in every split, TyDiQA ids prefixed with
the language name, Tatoeba lines keeping their trailing newline, tokens-and-tags lists for
PAN-X/UD-POS (PAN-X tokens without their ``af:`` prefix, ``langs`` per token), and the script-only
``main`` of ``allenai/cosmos_qa``. ``fixture_languages(task)`` lists the languages covered.

Where ``shared/data`` has no slice the rows are derived from a related real slice and say so in
``DERIVED``: SNLI and SST-2 (from the MNLI slice), PAN-X.en (the Afrikaans slice), split copies
where only one split was sliced (see each builder).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import datasets
from datasets import ClassLabel, Features, List, Value
from datasets.info import DatasetInfo, DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from huggingface_hub import DatasetCardData

from xstilts import hub, registry
from xstilts.loaders.tatoeba import TATOEBA_LANG3

datasets.disable_progress_bars()
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NLI = ["entailment", "neutral", "contradiction"]
DERIVED = {
    "stanfordnlp/snli": "no SNLI slice: premise/hypothesis/label of the MNLI slice",
    "nyu-mll/glue sst2": "no SST-2 slice: MNLI premises, label = entailment or not",
    "google/xtreme PAN-X.en": "no English PAN-X slice: the Afrikaans slice",
    "splits": "one sliced split copied to the others it lacks (e.g. dev rows as train and test)",
    "izhx/xtreme-r-udpos": "no UD v2.7 slice of lt/pl/uk/wo/ro: the German UD v2.5 test slice",
    "unimelb-nlp/wikiann": "no WikiANN slice of XTREME-R's extras: the Afrikaans PAN-X slice",
    "mteb/tatoeba-bitext-mining": "no aze/lit/pol/ukr/ron slice: the Turkish Tatoeba slice",
    "lighteval/siqa": "no SIQa slice: CosmosQA rows with answers 0-2 (label < 3), 1-based",
    "aps/super_glue copa, cambridgeltl/xcopa": "no COPA/XCOPA slice: CosmosQA contexts and "
    "answers 0-1 (label < 2), question cause/effect alternating",
}
S = Value("string")
I32 = Value("int32")
ANSWERS = {"answer_start": List(I32), "text": List(S)}
QA = Features({"id": S, "title": S, "context": S, "question": S, "answers": ANSWERS})


# --- writing repositories ---
def _write_main(folder: Path, configs: dict[str, dict[str, datasets.Dataset]], dirs: dict):
    """Main-branch layout: ``{dir}/{split}-00000-of-00001.parquet``, and a README whose YAML has
    the ``configs:`` block (data files per split) and ``dataset_info`` (features, split sizes),
    as ``datasets-cli convert_to_parquet`` writes it."""
    card, infos, entries = DatasetCardData(), {}, []
    for config, splits in configs.items():
        data_dir = dirs.get(config, config)
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
    DatasetInfosDict(infos).to_dataset_card_data(card)
    card.configs = entries
    text = f"---\n{card.to_yaml()}\n---\n\nFixture built from shared/data (tests/hub_mirror.py).\n"
    (folder / "README.md").write_text(text, encoding="utf-8")


def _write_convert(folder: Path, configs: dict[str, dict[str, datasets.Dataset]]):
    """``refs/convert/parquet`` layout: ``{config}/{split}/0000.parquet``, no configs README."""
    for config, splits in configs.items():
        for split, ds in splits.items():
            path = folder / config / split / "0000.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.to_parquet(str(path))


def _ds(rows: list[dict], features: Features) -> datasets.Dataset:
    return datasets.Dataset.from_list(rows, features=features)


# --- reading slices ---
def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _tsv(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").replace("\r\n", "\n").splitlines()
    return [line.split("\t") for line in lines if line]


def _csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _squad(path: Path, strip: bool = False) -> list[dict]:
    """SQuAD JSON flattened to hub rows (google/xtreme strips context/question/answer text)."""
    s = str.strip if strip else (lambda x: x)
    rows = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                rows.append(
                    {
                        "id": qa["id"],
                        "title": article.get("title", ""),
                        "context": s(paragraph["context"]),
                        "question": s(qa["question"]),
                        "answers": {
                            "answer_start": [a["answer_start"] for a in qa["answers"]],
                            "text": [s(a["text"]) for a in qa["answers"]],
                        },
                    }
                )
    return rows


def _conllu(path: Path) -> list[dict]:
    """UD sentences as the xtreme script reads them: multiword and empty nodes skipped, words
    whose FORM or UPOS is "_" dropped."""
    rows, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if tokens:
                rows.append({"tokens": tokens, "pos_tags": tags})
            tokens, tags = [], []
        elif not line.startswith("#"):
            cols = line.split("\t")
            if "-" in cols[0] or "." in cols[0] or "_" in (cols[1], cols[3]):
                continue
            tokens.append(cols[1])
            tags.append(cols[3])
    return rows


def _extras(task_name: str) -> tuple[str, ...]:
    """The languages benchmarks add to a task (its ``extra_languages``)."""
    task = registry.get(task_name)
    return tuple(lang for lang in task.known_languages if lang not in task.languages)


# --- one builder per repository: {config: {split: Dataset}} ---
def _glue(data: Path) -> dict:
    nli = Features({"premise": S, "hypothesis": S, "label": ClassLabel(names=NLI), "idx": I32})
    mnli = {
        name: [
            {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"], "idx": i}
            for i, r in enumerate(_jsonl(data / f"mnli/mnli_{part}.jsonl"))
        ]
        for name, part in (("train", "train"), ("validation", "val"))
    }
    unlabelled = [{**r, "label": -1} for r in mnli["validation"]]
    qqp_rows = [
        {"question1": r["question1"], "question2": r["question2"], "label": int(r["is_duplicate"])}
        for r in _csv_tsv(data / "qqp/dev.tsv")
    ]
    qqp = Features(
        {
            "question1": S,
            "question2": S,
            "label": ClassLabel(names=["not_duplicate", "duplicate"]),
            "idx": I32,
        }
    )
    sst2_rows = [
        {"sentence": r["premise"], "label": int(r["label"] == "entailment")}
        for r in mnli["train"] + mnli["validation"]
    ]
    sst2 = Features(
        {"sentence": S, "label": ClassLabel(names=["negative", "positive"]), "idx": I32}
    )

    def indexed(rows):
        return [{**r, "idx": i} for i, r in enumerate(rows)]

    return {
        "mnli": {
            "train": _ds(mnli["train"], nli),
            "validation_matched": _ds(mnli["validation"], nli),
            "validation_mismatched": _ds(mnli["validation"], nli),
            "test_matched": _ds(unlabelled, nli),
            "test_mismatched": _ds(unlabelled, nli),
        },
        "qqp": {
            "train": _ds(indexed(qqp_rows), qqp),
            "validation": _ds(indexed(qqp_rows), qqp),
            "test": _ds(indexed([{**r, "label": -1} for r in qqp_rows]), qqp),
        },
        "sst2": {
            "train": _ds(indexed(sst2_rows), sst2),
            "validation": _ds(indexed(sst2_rows), sst2),
            "test": _ds(indexed([{**r, "label": -1} for r in sst2_rows]), sst2),
        },
    }


def _csv_tsv(path: Path) -> list[dict]:
    rows = _tsv(path)
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def _anli(data: Path) -> dict:
    features = Features(
        {"uid": S, "premise": S, "hypothesis": S, "label": ClassLabel(names=NLI), "reason": S}
    )
    code = {"e": 0, "n": 1, "c": 2}
    splits = {}
    for r in (1, 2, 3):
        rows = [
            {
                "uid": row["uid"],
                "premise": row["context"],
                "hypothesis": row["statement"],
                "label": code[row["gold_label"]],
                "reason": row["reason"],
            }
            for row in _csv(data / f"anli/ANLI_analysis_r{r}_dev.csv")
        ]
        for name in ("train", "dev", "test"):
            splits[f"{name}_r{r}"] = _ds(rows, features)
    return {"plain_text": splits}


def _snli(data: Path) -> dict:
    features = Features({"premise": S, "hypothesis": S, "label": ClassLabel(names=NLI)})
    rows = [
        {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": NLI.index(r["label"])}
        for r in _jsonl(data / "mnli/mnli_train.jsonl")
    ]
    rows[1] = {**rows[1], "label": -1}  # no annotator consensus: -1 in every split
    return {"plain_text": {s: _ds(rows, features) for s in ("train", "validation", "test")}}


def _squad_v1(data: Path) -> dict:
    rows = _squad(data / "squad/dev-v1.1.json")
    train = [{**r, "answers": {k: v[:1] for k, v in r["answers"].items()}} for r in rows]
    return {"plain_text": {"train": _ds(train, QA), "validation": _ds(rows, QA)}}


def _squad_v2(data: Path) -> dict:
    rows = _squad(data / "squad/dev-v2.0.json")
    train = [{**r, "answers": {k: v[:1] for k, v in r["answers"].items()}} for r in rows]
    return {"squad_v2": {"train": _ds(train, QA), "validation": _ds(rows, QA)}}


def _hellaswag(data: Path) -> dict:
    features = Features(
        {
            "ind": I32,
            "activity_label": S,
            "ctx_a": S,
            "ctx_b": S,
            "ctx": S,
            "endings": List(S),
            "source_id": S,
            "split": S,
            "split_type": S,
            "label": S,
        }
    )

    def rows(part):
        return [
            {**{k: r[k] for k in features if k != "label"}, "label": str(r["label"])}
            for r in _jsonl(data / f"hellaswag/hellaswag_{part}.jsonl")
        ]

    test = [{**r, "label": "", "split": "test"} for r in rows("val")]  # test labels are ""
    return {
        "default": {
            "train": _ds(rows("train"), features),
            "validation": _ds(rows("val"), features),
            "test": _ds(test, features),
        }
    }


def _cosmosqa(data: Path) -> dict:
    features = Features(
        {
            "id": S,
            "context": S,
            "question": S,
            **{f"answer{i}": S for i in range(4)},
            "label": I32,
        }
    )
    rows = [{**r, "label": int(r["label"])} for r in _csv(data / "cosmosqa/valid.csv")]
    test = [{**r, "label": -1} for r in rows]
    return {
        "default": {
            "train": _ds(rows, features),
            "validation": _ds(rows, features),
            "test": _ds(test, features),
        }
    }


def _commonsenseqa(data: Path) -> dict:
    features = Features(
        {
            "id": S,
            "question": S,
            "question_concept": S,
            "choices": {"label": List(S), "text": List(S)},
            "answerKey": S,
        }
    )
    rows = _jsonl(data / "commonsenseqa/dev_rand_split.hf_format.jsonl")
    return {
        "default": {
            "train": _ds(rows[:100], features),
            "validation": _ds(rows[100:], features),
            "test": _ds([{**r, "answerKey": ""} for r in rows[:20]], features),
        }
    }


def _xnli(data: Path) -> dict:
    features = Features({"premise": S, "hypothesis": S, "label": ClassLabel(names=NLI)})
    mnli = [
        {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": NLI.index(r["label"])}
        for r in _jsonl(data / "mnli/mnli_train.jsonl")
    ]
    out = {}
    for lang in registry.XNLI_LANGS:
        rows = [
            {"premise": a, "hypothesis": b, "label": NLI.index(label)}
            for a, b, label in _tsv(data / f"xnli/dev-{lang}.tsv")
        ]
        out[lang] = {
            "train": _ds(mnli, features),
            "validation": _ds(rows, features),
            "test": _ds(rows, features),
        }
    return out


def _xtreme(data: Path) -> dict:
    """google/xtreme: the PAWS-X, udpos, PAN-X, XQuAD, MLQA, tydiqa and tatoeba configs."""
    out: dict = {}
    pair = Features({"sentence1": S, "sentence2": S, "label": S})
    for lang in registry.PAWSX_LANGS:
        rows = [
            {"sentence1": a, "sentence2": b, "label": label}
            for a, b, label in _tsv(data / f"pawsx/dev-{lang}.tsv")
        ]
        out[f"PAWS-X.{lang}"] = {s: _ds(rows, pair) for s in ("train", "validation", "test")}

    pos = Features({"tokens": List(S), "pos_tags": List(ClassLabel(names=registry.UPOS_LABELS))})
    udpos = data / "udpos"
    for lang, name in registry.UDPOS_LANG_NAMES.items():
        tests = sorted(udpos.glob(f"{lang}_*-ud-test.conllu"))
        if not tests:
            continue
        splits = {"test": _conllu(tests[0])}
        devs = sorted(udpos.glob(f"{lang}_*-ud-dev.conllu"))
        splits["validation"] = _conllu(devs[0]) if devs else splits["test"]
        trains = sorted(udpos.glob(f"{lang}_*-ud-train.conllu"))
        if trains:
            splits["train"] = _conllu(trains[0])
        order = ("train", "validation", "test")
        out[f"udpos.{name}"] = {s: _ds(splits[s], pos) for s in order if s in splits}

    ner = Features(
        {
            "tokens": List(S),
            "ner_tags": List(ClassLabel(names=registry.PANX_LABELS)),
            "langs": List(S),
        }
    )
    for lang in ("af", "en"):
        splits = {}
        for split, part in (("train", "train"), ("validation", "dev"), ("test", "test")):
            sentences: dict[str, dict] = {}
            for r in _csv(data / f"panx/af_{part}/truth.csv"):
                row = sentences.setdefault(r["sent_idx"], {"tokens": [], "ner_tags": []})
                row["tokens"].append(r["word"].split(":", 1)[1])  # the "af:" prefix removed
                row["ner_tags"].append(r["truth"])
            splits[split] = _ds(
                [{**r, "langs": [lang] * len(r["tokens"])} for r in sentences.values()], ner
            )
        out[f"PAN-X.{lang}"] = splits

    xquad = Features({k: v for k, v in QA.items() if k != "title"})
    for lang in registry.XQUAD_LANGS:
        rows = _squad(data / f"xquad/xquad.{lang}.json", strip=True)
        rows = [{k: v for k, v in r.items() if k != "title"} for r in rows]
        out[f"XQuAD.{lang}"] = {"validation": _ds(rows, xquad)}

    for lang in registry.MLQA_LANGS:
        path = data / f"mlqa/MLQA_V1/dev/dev-context-{lang}-question-{lang}.json"
        rows = _squad(path, strip=True)
        out[f"MLQA.{lang}.{lang}"] = {"validation": _ds(rows, QA), "test": _ds(rows, QA)}

    tydiqa = []
    for path in sorted((data / "tydiqa/tydiqa-goldp-v1.1-train").glob("*.json")):
        name = registry.TYDIQA_LANG_NAMES[path.name.split(".")[2]]
        # XTREME's per-language files shortened the ids; the hub config keeps "<language>-..."
        rows = _squad(path, strip=True)  # the shortened ids repeat: made unique again
        tydiqa += [{**r, "id": f"{name}-{i}-{r['id']}"} for i, r in enumerate(rows)]
    out["tydiqa"] = {"train": _ds(tydiqa, QA), "validation": _ds(tydiqa, QA)}

    bitext = Features(
        {"source_sentence": S, "target_sentence": S, "source_lang": S, "target_lang": S}
    )
    for lang in registry.TATOEBA_LANGS:
        lang3 = TATOEBA_LANG3[lang]
        stem = data / f"tatoeba/tatoeba.{lang3}-eng"
        src = Path(f"{stem}.{lang3}").read_text(encoding="utf-8").splitlines(keepends=True)
        eng = Path(f"{stem}.eng").read_text(encoding="utf-8").splitlines(keepends=True)
        rows = [  # lines keep "\n"; source_lang is the script's cache-file suffix
            {
                "source_sentence": a,
                "target_sentence": b,
                "source_lang": "a1b2c3",
                "target_lang": "eng",
            }
            for a, b in zip(src, eng, strict=True)
        ]
        out[f"tatoeba.{lang3}"] = {"validation": _ds(rows, bitext)}
    return out


def _udpos_r(data: Path) -> dict:
    """izhx/xtreme-r-udpos: configs by ISO code (lt/pl/uk/wo/ro test only, en also train and
    dev), tags as integers in google/xtreme's UPOS order (the registry's declared order)."""
    rows = _conllu(data / "udpos/de_gsd-ud-test.conllu")
    order = {tag: i for i, tag in enumerate(registry.UPOS_LABELS)}
    rows = [{"tokens": r["tokens"], "pos_tags": [order[t] for t in r["pos_tags"]]} for r in rows]
    configs = {lang: {"test": rows} for lang in _extras("udpos")}
    configs["en"] = {"train": rows, "dev": rows, "test": rows}
    return configs


def _write_izhx(folder: Path, configs: dict[str, dict[str, list[dict]]]):
    """izhx/xtreme-r-udpos as the hub has it (docs/hub.md): one ``<lang>/<split>.parquet`` per
    split, written without the ``huggingface`` schema metadata, and a README whose ``configs:``
    select ``path: <lang>/<split>*`` (dev as the validation split) with no ``dataset_info``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("tokens", pa.list_(pa.string())), ("pos_tags", pa.list_(pa.int64()))])
    entries = []
    for config, splits in configs.items():
        files = []
        for split, rows in splits.items():
            path = folder / config / f"{split}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
            name = "validation" if split == "dev" else split
            files.append({"split": name, "path": f"{config}/{split}*"})
        entries.append({"config_name": config, "data_files": files})
    card = DatasetCardData()
    card.configs = entries
    text = f"---\n{card.to_yaml()}\n---\n\nFixture built from shared/data (tests/hub_mirror.py).\n"
    (folder / "README.md").write_text(text, encoding="utf-8")


def _spans(tokens: list[str], tags: list[str]) -> list[str]:
    """WikiANN's ``spans`` column: "TYPE: tokens" per entity, ["None"] without one."""
    spans, current = [], None
    for token, tag in zip(tokens, tags, strict=True):
        if tag.startswith("B-") or (tag.startswith("I-") and current is None):
            current = [tag[2:], [token]]
            spans.append(current)
        elif tag.startswith("I-"):
            current[1].append(token)
        else:
            current = None
    return [f"{kind}: {' '.join(words)}" for kind, words in spans] or ["None"]


def _wikiann(data: Path) -> dict:
    """unimelb-nlp/wikiann at refs/convert/parquet: XTREME-R's PAN-X extras."""
    ner = Features(
        {
            "tokens": List(S),
            "ner_tags": List(ClassLabel(names=registry.PANX_LABELS)),
            "langs": List(S),
            "spans": List(S),
        }
    )
    out = {}
    for lang in _extras("panx"):
        splits = {}
        for split, part in (("validation", "dev"), ("test", "test"), ("train", "train")):
            sentences: dict[str, dict] = {}
            for r in _csv(data / f"panx/af_{part}/truth.csv"):
                row = sentences.setdefault(r["sent_idx"], {"tokens": [], "tags": []})
                row["tokens"].append(r["word"].split(":", 1)[1])
                row["tags"].append(r["truth"])
            rows = [
                {
                    "tokens": r["tokens"],
                    "ner_tags": [registry.PANX_LABELS.index(t) for t in r["tags"]],
                    "langs": [lang] * len(r["tokens"]),
                    "spans": _spans(r["tokens"], r["tags"]),
                }
                for r in sentences.values()
            ]
            splits[split] = _ds(rows, ner)
        out[lang] = splits
    return out


def _mteb_tatoeba(data: Path) -> dict:
    """mteb/tatoeba-bitext-mining: ``{lang3}-eng`` configs, split test, sentence1 non-English."""
    bitext = Features({"sentence1": S, "sentence2": S})
    stem = data / "tatoeba/tatoeba.tur-eng"
    src = Path(f"{stem}.tur").read_text(encoding="utf-8").splitlines()
    eng = Path(f"{stem}.eng").read_text(encoding="utf-8").splitlines()
    rows = [{"sentence1": a, "sentence2": b} for a, b in zip(src, eng, strict=True)]
    return {
        f"{TATOEBA_LANG3[lang]}-eng": {"test": _ds(rows, bitext)} for lang in _extras("tatoeba")
    }


def _google_xquad(data: Path) -> dict:
    """google/xquad: ``xquad.{lang}`` (Romanian included), validation only, no title."""
    features = Features({k: v for k, v in QA.items() if k != "title"})
    out = {}
    for path in sorted((data / "xquad").glob("xquad.*.json")):
        rows = [{k: v for k, v in r.items() if k != "title"} for r in _squad(path)]
        out[path.stem] = {"validation": _ds(rows, features)}
    return out


def _cosmos_rows(data: Path, choices: int) -> list[dict]:
    return [r for r in _csv(data / "cosmosqa/valid.csv") if int(r["label"]) < choices]


def _siqa(data: Path) -> dict:
    features = Features(
        {"context": S, "question": S, "answerA": S, "answerB": S, "answerC": S, "label": S}
    )
    rows = [
        {
            "context": r["context"],
            "question": r["question"],
            **{f"answer{c}": r[f"answer{i}"] for i, c in enumerate("ABC")},
            "label": str(int(r["label"]) + 1),  # 1-based string
        }
        for r in _cosmos_rows(data, 3)
    ]
    return {"default": {"train": _ds(rows, features), "validation": _ds(rows, features)}}


def _copa_rows(data: Path) -> list[dict]:
    return [
        {
            "premise": r["context"],
            "choice1": r["answer0"],
            "choice2": r["answer1"],
            "question": ("cause", "effect")[i % 2],
            "idx": i,
            "label": int(r["label"]),
        }
        for i, r in enumerate(_cosmos_rows(data, 2))
    ]


def _super_glue(data: Path) -> dict:
    """aps/super_glue copa (the conversion PR's layout): label ClassLabel, test labels -1."""
    features = Features(
        {
            "premise": S,
            "choice1": S,
            "choice2": S,
            "question": S,
            "idx": I32,
            "label": ClassLabel(names=["choice1", "choice2"]),
        }
    )
    rows = _copa_rows(data)
    test = [{**r, "label": -1} for r in rows]
    splits = {"train": rows, "validation": rows, "test": test}
    return {"copa": {s: _ds(r, features) for s, r in splits.items()}}


def _xcopa(data: Path) -> dict:
    """cambridgeltl/xcopa: one config per language, validation and test, label plain int32."""
    features = Features(
        {
            "premise": S,
            "choice1": S,
            "choice2": S,
            "question": S,
            "label": I32,
            "idx": I32,
            "changed": Value("bool"),
        }
    )
    rows = [{**r, "changed": False} for r in _copa_rows(data)]
    return {
        lang: {"validation": _ds(rows, features), "test": _ds(rows, features)}
        for lang in registry.XCOPA_LANGS
    }


BUILDERS = {
    "nyu-mll/glue": _glue,
    "facebook/anli": _anli,
    "stanfordnlp/snli": _snli,
    "rajpurkar/squad": _squad_v1,
    "rajpurkar/squad_v2": _squad_v2,
    "Rowan/hellaswag": _hellaswag,
    "allenai/cosmos_qa": _cosmosqa,
    "tau/commonsense_qa": _commonsenseqa,
    "facebook/xnli": _xnli,
    "google/xtreme": _xtreme,
    "izhx/xtreme-r-udpos": _udpos_r,
    "unimelb-nlp/wikiann": _wikiann,
    "mteb/tatoeba-bitext-mining": _mteb_tatoeba,
    "google/xquad": _google_xquad,
    "lighteval/siqa": _siqa,
    "aps/super_glue": _super_glue,
    "cambridgeltl/xcopa": _xcopa,
}
"""repo -> its rows from shared/data, with the repository's quirks; where they are written (its
revision, each config's data folder) is the registry's ``HubSource`` declaration."""


# --- a repository from its declaration alone: a task's records on the source's columns ---
def _classification(task, source, records: list[dict]) -> datasets.Dataset:
    """Records (text_a, text_b, label) as the source's columns, labels a ClassLabel of the hub's
    names (the registry's, respelled back through ``label_map``)."""
    cols = source.columns
    back = {v: k for k, v in (cols.label_map or {}).items()}
    names = [back.get(label, label) for label in task.labels]
    features = Features(
        {
            cols.text_a: S,
            **({cols.text_b: S} if cols.text_b else {}),
            cols.label: ClassLabel(names=names),
            **({cols.id: S} if cols.id else {}),
        }
    )
    rows = [
        {
            cols.text_a: r["text_a"],
            **({cols.text_b: r["text_b"]} if cols.text_b else {}),
            cols.label: names.index(back.get(r["label"], r["label"])),
            **({cols.id: str(i)} if cols.id else {}),
        }
        for i, r in enumerate(records)
    ]
    return _ds(rows, features)


ROWS_BY_FORMAT = {"classification": _classification}


def write_source(root: str | Path, task_name: str, records: dict[str, dict[str, list]]) -> Path:
    """Write a task's (single) hub source into the mirror ``root`` as its declaration says (repo,
    revision, config per language, data folder, split names, columns), from ``records``
    (``{lang: {split: [record]}}``, the study's splits and record fields); returns the folder."""
    task = registry.get(task_name)
    (source,) = task.hub
    configs, dirs = {}, {}
    for lang, splits in records.items():
        config = source.config_name(lang)
        dirs[config] = source.folder(lang)
        configs[config] = {
            source.splits[split]: ROWS_BY_FORMAT[task.format](task, source, rows)
            for split, rows in splits.items()
        }
    folder = hub.dataset_dir(root, source.repo, source.revision)
    if source.revision == hub.CONVERT:
        _write_convert(folder, configs)
    else:
        _write_main(folder, configs, dirs)
    return folder


def fixture_languages(task_name: str, data: Path = SHARED_DATA) -> tuple[str, ...]:
    """The languages of a task that the fixture mirror covers (those with a real slice, and the
    languages benchmarks add, after the registry's: XTREME-R's extras)."""
    covered = {
        "udpos": {p.name.split("_")[0] for p in (data / "udpos").glob("*-ud-test.conllu")}
        | set(_extras("udpos")),
        "panx": {"af", "en", *_extras("panx")},
        "tydiqa": {"en", "ko", "sw"},
    }.get(task_name)
    langs = registry.get(task_name).known_languages
    return tuple(lang for lang in langs if covered is None or lang in covered)


def build_mirror(root: str | Path, tasks=None, data: Path = SHARED_DATA) -> dict[str, Path]:
    """Write the fixture repositories the ``tasks``' hub sources need (default: every task's)
    under ``root`` (a ``hub.mirror``); returns ``{"repo@revision": folder}``. Also writes the
    script-only ``main`` of allenai/cosmos_qa (what the hub serves there)."""
    names = registry.TASKS if tasks is None else tasks
    sources = [source for name in names for source in registry.get(name).hub]
    unknown = {source.repo for source in sources} - set(BUILDERS)
    if unknown:
        raise KeyError(f"no fixture builder for hub repositories {sorted(unknown)}")
    built = {}
    for repo, revision in sorted({(source.repo, source.revision) for source in sources}):
        build = BUILDERS[repo]
        dirs = {  # a single-config repository's data folder ("data"), as its sources declare
            s.config: s.data_dir
            for s in sources
            if s.repo == repo and s.data_dir != hub.HubSource.data_dir
        }
        folder = hub.dataset_dir(root, repo, revision)
        built[f"{repo}@{revision}"] = folder
        if folder.is_dir():  # built by an earlier call
            continue
        configs = build(Path(data))
        if repo == "izhx/xtreme-r-udpos":
            _write_izhx(folder, configs)
        elif revision == hub.CONVERT:
            _write_convert(folder, configs)
        else:
            _write_main(folder, configs, dirs)
        if repo == "allenai/cosmos_qa":
            main = hub.dataset_dir(root, repo, hub.MAIN)
            main.mkdir(parents=True, exist_ok=True)
            (main / "cosmos_qa.py").write_text("# the loading script the hub still serves\n")
            (main / "README.md").write_text("---\nlicense: cc-by-4.0\n---\n# Cosmos QA\n")
    return built
