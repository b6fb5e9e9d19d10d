"""Tests for xstilts.loaders: real benchmark slices in ../shared/data plus malformed inputs."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from xstilts import registry
from xstilts.loaders import (
    LOADERS,
    TATOEBA_LANG3,
    DataFormatError,
    load_anli_csv,
    load_anli_jsonl,
    load_bucc,
    load_commonsenseqa,
    load_conllu,
    load_cosmosqa,
    load_hellaswag,
    load_mnli_jsonl,
    load_mnli_tsv,
    load_panx_csv,
    load_panx_tokens,
    load_pawsx_tsv,
    load_qqp_tsv,
    load_squad_json,
    load_tatoeba,
    load_tatoeba_pair,
    load_xnli_tsv,
    load_xtreme_pair_tsv,
)

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
XNLI_LANGS = "ar bg de el en es fr hi ru sw th tr ur vi zh".split()
PAWSX_LANGS = "de en es fr ja ko zh".split()
XQUAD_LANGS = "ar de el en es hi ro ru th tr vi zh".split()
MLQA_COUNTS = {"en": 62, "ar": 49, "de": 46, "es": 49, "hi": 55, "vi": 55, "zh": 39}
NLI_LABELS = {"entailment", "neutral", "contradiction"}
UPOS = set("ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split())
# file -> (sentences, syntactic words) from the README table / integer-ID lines of each file.
# sentences, tokens (subtokens of multiword tokens: tokens + MULTIWORD_TOKENS)
UDPOS_COUNTS = {
    "ar_pud-ud-test": (60, 1358),
    "de_gsd-ud-test": (100, 1417),
    "en_ewt-ud-dev": (60, 1433),
    "en_ewt-ud-test": (100, 2202),
    "en_gum-ud-train": (300, 7988),
    "es_gsd-ud-test": (100, 2531),
    "fr_gsd-ud-test": (100, 2505),
    "hi_pud-ud-test": (60, 1517),
    "ja_gsd-ud-test": (100, 1755),
    "ko_gsd-ud-test": (100, 1381),
    "ru_gsd-ud-test": (100, 1925),
    "tr_imst-ud-test": (100, 959),
    "vi_vtb-ud-test": (100, 1391),
    "zh_gsd-ud-test": (100, 2363),
}
# tags of subtokens that fused tokens no longer score (XTREME's reading; README, Metrics)
FUSED_AWAY = {
    "de_gsd-ud-test": {"DET": 23},
    "es_gsd-ud-test": {"DET": 57, "PRON": 8, "ADP": 3},
    "fr_gsd-ud-test": {"DET": 82},
    "tr_imst-ud-test": {"AUX": 13, "ADP": 10},
}
MULTIWORD_TOKENS = {
    "de_gsd-ud-test": 23,
    "es_gsd-ud-test": 68,
    "fr_gsd-ud-test": 82,
    "tr_imst-ud-test": 23,
}


@pytest.fixture(scope="module")
def data() -> Path:
    """The shared real-data folder; skips the test when it is not checked out next to the repo."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"real data slices not available at {DATA_DIR}")
    return DATA_DIR


# --- XNLI / PAWS-X ---------------------------------------------------------------------------


def test_xnli_xtreme_tsv(data: Path) -> None:
    by_lang = {lang: load_xtreme_pair_tsv(data / "xnli" / f"dev-{lang}.tsv") for lang in XNLI_LANGS}
    assert by_lang["en"][0] == {
        "id": "0",
        "text_a": "And he said, Mama, I'm home.",
        "text_b": "He called his mom as soon as the school bus dropped him off.",
        "label": "neutral",
    }
    assert by_lang["de"][0]["text_a"] == "und er hat gesagt, Mama ich bin daheim."
    assert by_lang["zh"][0]["text_b"] == "校车把他放下后，他立即给他妈妈打了电话。"
    en_labels = [r["label"] for r in by_lang["en"]]
    for lang, records in by_lang.items():
        assert len(records) == 200, lang
        assert [r["label"] for r in records] == en_labels, lang  # rows are parallel
        assert all("\r" not in r["label"] + r["text_a"] + r["text_b"] for r in records), lang
    assert {label: en_labels.count(label) for label in NLI_LABELS} == {
        "contradiction": 66,
        "entailment": 67,
        "neutral": 67,
    }


def test_pawsx_xtreme_tsv(data: Path) -> None:
    for lang in PAWSX_LANGS:
        records = load_xtreme_pair_tsv(data / "pawsx" / f"dev-{lang}.tsv")
        assert len(records) == 200, lang
        assert {r["label"] for r in records} == {"0", "1"}, lang
    en = load_xtreme_pair_tsv(data / "pawsx" / "dev-en.tsv")
    assert sum(r["label"] == "1" for r in en) == 95
    assert en[0]["text_b"].startswith("Shawnee Trails Council was formed from the merger")


def test_pawsx_original_tsv(tmp_path: Path) -> None:
    path = tmp_path / "dev_2k.tsv"
    path.write_text("id\tsentence1\tsentence2\tlabel\r\n7\tA b .\tB a .\t0\r\n8\tC\tD\t1\r\n")
    assert load_pawsx_tsv(path) == [
        {"id": "7", "text_a": "A b .", "text_b": "B a .", "label": "0"},
        {"id": "8", "text_a": "C", "text_b": "D", "label": "1"},
    ]


def test_xnli_original_tsv_filters_language(tmp_path: Path) -> None:
    path = tmp_path / "xnli.dev.tsv"
    header = "language\tgold_label\tsentence1\tsentence2\tpairID"
    rows = [
        'de\tneutral\tEr "sagte"\tX\t1',
        "en\tentailment\tHe said\tY\t1",
        "de\tcontradiction\tA\tB\t2",
    ]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert load_xnli_tsv(path, "de") == [
        {"id": "1", "text_a": 'Er "sagte"', "text_b": "X", "label": "neutral"},
        {"id": "2", "text_a": "A", "text_b": "B", "label": "contradiction"},
    ]
    assert [r["label"] for r in load_xnli_tsv(path, "en")] == ["entailment"]


# --- GLUE / MNLI / ANLI ----------------------------------------------------------------------


def test_qqp_tsv(data: Path) -> None:
    records = load_qqp_tsv(data / "qqp" / "dev.tsv")
    assert len(records) == 9  # the file has 10 lines: header + 9 rows
    assert records[0] == {
        "id": "201359",
        "text_a": "Why are African-Americans so beautiful?",
        "text_b": "Why are hispanics so beautiful?",
        "label": "0",
    }


def test_mnli_jsonl(data: Path) -> None:
    train = load_mnli_jsonl(data / "mnli" / "mnli_train.jsonl")
    val = load_mnli_jsonl(data / "mnli" / "mnli_val.jsonl")
    assert len(train) == len(val) == 5
    assert val[0] == {
        "id": "0",
        "text_a": "The new rights are nice enough",
        "text_b": "Everyone really likes the newest benefits ",
        "label": "neutral",
    }
    assert [r["label"] for r in val[1:]] == [
        "contradiction",
        "entailment",
        "contradiction",
        "contradiction",
    ]


def test_mnli_glue_tsv(tmp_path: Path) -> None:
    path = tmp_path / "dev_matched.tsv"
    path.write_text(
        'index\tpairID\tsentence1\tsentence2\tgold_label\n0\t63735n\tP "q"\tH\tneutral\n',
        encoding="utf-8",
    )
    assert load_mnli_tsv(path) == [
        {"id": "63735n", "text_a": 'P "q"', "text_b": "H", "label": "neutral"}
    ]


def test_anli_csv(data: Path) -> None:
    first_uids = {
        1: "bf628cf5-6948-4595-a6d0-daf99beb47b9",
        2: "4145fcb6-de26-4910-a4f0-64275c50f2be",
        3: "50a5d4bc-bb8b-44f9-ba07-95dfaf5536ab",
    }
    for rnd, uid in first_uids.items():
        records = load_anli_csv(data / "anli" / f"ANLI_analysis_r{rnd}_dev.csv")
        assert len(records) == 100
        assert records[0]["id"] == uid
        assert {r["label"] for r in records} == NLI_LABELS
    r1 = load_anli_csv(data / "anli" / "ANLI_analysis_r1_dev.csv")[0]
    assert r1["label"] == "contradiction"
    assert r1["text_a"].endswith('in his "Aṣṭādhyāyī ".')  # CSV-escaped quotes resolved
    assert r1["text_b"] == (
        "Form and meaning are the only aspects of language linguistics is concerned with."
    )


def test_anli_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "dev.jsonl"
    rows = [
        {"uid": "u1", "premise": "P", "hypothesis": "H", "label": "e", "reason": ""},
        {"uid": "u2", "premise": "P2", "hypothesis": "H2", "label": "c"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert load_anli_jsonl(path) == [
        {"id": "u1", "text_a": "P", "text_b": "H", "label": "entailment"},
        {"id": "u2", "text_a": "P2", "text_b": "H2", "label": "contradiction"},
    ]


# --- SQuAD-style QA --------------------------------------------------------------------------


def test_xquad_parallel(data: Path) -> None:
    by_lang = {lang: load_squad_json(data / "xquad" / f"xquad.{lang}.json") for lang in XQUAD_LANGS}
    en_ids = [r["id"] for r in by_lang["en"]]
    for lang, records in by_lang.items():
        assert len(records) == 105, lang
        assert [r["id"] for r in records] == en_ids, lang
    titles = [r["title"] for r in by_lang["en"]]
    assert {t: titles.count(t) for t in titles} == {"Super_Bowl_50": 74, "Warsaw": 23, "Normans": 8}
    first = by_lang["en"][0]
    assert first["id"] == "56beb4343aeaaa14008c925b"
    assert first["question"] == "How many points did the Panthers defense surrender?"
    assert first["answers"] == {"text": ["308"], "answer_start": [34]}
    assert by_lang["de"][0]["answers"] == {"text": ["308"], "answer_start": [38]}


def test_mlqa(data: Path) -> None:
    for lang, count in MLQA_COUNTS.items():
        path = data / "mlqa" / "MLQA_V1" / "dev" / f"dev-context-{lang}-question-{lang}.json"
        assert len(load_squad_json(path)) == count, lang
    en = load_squad_json(data / "mlqa" / "MLQA_V1" / "dev" / "dev-context-en-question-en.json")
    assert en[0]["title"] == "Pappataci fever"
    assert en[0]["answers"] == {
        "text": ["remains infected for its lifetime"],
        "answer_start": [571],
    }


def test_tydiqa_goldp(data: Path) -> None:
    folder = data / "tydiqa" / "tydiqa-goldp-v1.1-train"
    for lang in ("en", "ko", "sw"):
        records = load_squad_json(folder / f"tydiqa.goldp.{lang}.train.json")
        assert len(records) == 60, lang
        assert all(len(r["answers"]["text"]) >= 1 for r in records), lang
    en = load_squad_json(folder / "tydiqa.goldp.en.train.json")[0]
    assert en["id"] == "12" and en["title"] == ""
    assert en["answers"] == {"text": ["1920s"], "answer_start": [159]}


def test_squad_v1(data: Path) -> None:
    records = load_squad_json(data / "squad" / "dev-v1.1.json")
    assert len(records) == 1057
    assert sum(r["title"] == "Super_Bowl_50" for r in records) == 810
    assert sum(r["title"] == "Warsaw" for r in records) == 247
    assert records[0]["id"] == "56be4db0acb8001400a502ec"
    assert records[0]["answers"]["text"] == ["Denver Broncos"] * 3


def test_squad_v2_unanswerable(data: Path) -> None:
    records = load_squad_json(data / "squad" / "dev-v2.0.json")
    assert len(records) == 208
    empty = [r for r in records if not r["answers"]["text"]]
    assert len(empty) == 112
    assert all(r["answers"] == {"text": [], "answer_start": []} for r in empty)
    assert empty[0]["id"] == "5ad39d53604f3c001a3fe8d1"
    assert {r["title"] for r in records} == {"Normans"}


def test_squad_answer_start_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    qa = {"id": "q7", "question": "?", "answers": [{"text": "Paris", "answer_start": 1}]}
    doc = {"data": [{"title": "T", "paragraphs": [{"context": "In Paris.", "qas": [qa]}]}]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DataFormatError) as err:
        load_squad_json(path)
    message = str(err.value)
    assert str(path) in message and "q7" in message
    assert "'Paris'" in message and "'n Par'" in message


# --- UD POS / PAN-X --------------------------------------------------------------------------


@pytest.mark.parametrize("stem", sorted(UDPOS_COUNTS))
def test_udpos(data: Path, stem: str) -> None:
    records = load_conllu(data / "udpos" / f"{stem}.conllu")
    n_sentences, n_tokens = UDPOS_COUNTS[stem]
    assert len(records) == n_sentences
    assert sum(len(r["tokens"]) for r in records) == n_tokens
    assert [r["id"] for r in records[:2]] == [f"{stem}-0", f"{stem}-1"]
    assert all(len(r["tokens"]) == len(r["tags"]) for r in records)
    assert {tag for r in records for tag in r["tags"]} <= UPOS
    subtokens = load_conllu(data / "udpos" / f"{stem}.conllu", multiword="subtokens")
    extra = sum(len(r["tokens"]) for r in subtokens) - n_tokens
    assert extra == MULTIWORD_TOKENS.get(stem, 0)  # every range in these slices has two words
    away = Counter(t for r in subtokens for t in r["tags"]) - Counter(
        t for r in records for t in r["tags"]
    )
    assert away == Counter(FUSED_AWAY.get(stem, {}))


def test_udpos_first_sentences(data: Path) -> None:
    en = load_conllu(data / "udpos" / "en_ewt-ud-dev.conllu")[0]
    assert en["tokens"] == ["From", "the", "AP", "comes", "this", "story", ":"]
    assert en["tags"] == ["ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT"]
    fr = load_conllu(data / "udpos" / "fr_gsd-ud-test.conllu", multiword="subtokens")
    assert fr[0]["tokens"][:3] == ["Je", "sens", "qu'"]
    # subtokens: the multiword token "12-13 du" is read as its words "de" + "le"
    assert fr[1]["tokens"][10:14] == ["décentrement", "de", "le", "Sujet"]
    assert fr[1]["tags"][11:13] == ["ADP", "DET"]
    assert "du" not in fr[1]["tokens"]


# Hand-worked _keep_fused_form (google-research/xtreme third_party/ud-conversion-tools/lib/conll.py)
# on the slices: (file, sentence, token index, fused form, UPOS, why that subtoken heads the span)
FUSED = [
    # "12-13 du" = de (ADP, head 14) + le (DET, head 14): same depth, so the French precedence
    # list decides (VERB AUX PRON NOUN ADJ ADV ADP DET ...): ADP before DET
    ("fr_gsd-ud-test", 1, 11, "du", "ADP"),
    # "19-20 im" = in (ADP, head 22) + dem (DET, head 22): a tie, the default list ranks ADP first
    ("de_gsd-ud-test", 1, 18, "im", "ADP"),
    # "2-3 decantarnos" = decantar (VERB, root) + nos (PRON, head 2): the root is higher
    ("es_gsd-ud-test", 18, 1, "decantarnos", "VERB"),
    # "13-14 olduğudur" = olduğu (VERB, root) + dur (AUX cop, head 13): the root is higher
    ("tr_imst-ud-test", 3, 12, "olduğudur", "VERB"),
]


@pytest.mark.parametrize(("stem", "sentence", "index", "form", "tag"), FUSED)
def test_udpos_fused_as_xtreme(data: Path, stem, sentence, index, form, tag) -> None:
    fused = load_conllu(data / "udpos" / f"{stem}.conllu")[sentence]
    words = load_conllu(data / "udpos" / f"{stem}.conllu", multiword="subtokens")[sentence]
    assert (fused["tokens"][index], fused["tags"][index]) == (form, tag)
    assert len(words["tokens"]) == len(fused["tokens"]) + 1
    # every other token is unchanged, in order
    rest = fused["tokens"][:index] + fused["tokens"][index + 1 :]
    assert rest == words["tokens"][:index] + words["tokens"][index + 2 :]


def _conllu(tmp_path: Path, name: str, rows: list[str]) -> Path:
    """A CoNLL-U file of ``rows`` ("ID FORM UPOS HEAD [DEPS]") with the other columns empty."""
    lines = []
    for row in rows:
        if not row:
            lines.append("")
            continue
        tid, form, upos, head, *deps = row.split()
        lines.append("\t".join([tid, form, "_", upos, "_", "_", head, "_", *(deps or ["_"]), "_"]))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_conllu_fused_head_heuristics(tmp_path: Path) -> None:
    # Italian "dirglielo" = dir (VERB, root) + gli + lo: the single highest subtoken heads it
    it = _conllu(
        tmp_path,
        "it_x-ud-test.conllu",
        ["1-3 dirglielo _ _", "1 dir VERB 0"] + ["2 gli PRON 1", "3 lo PRON 1", "4 . PUNCT 1"],
    )
    assert load_conllu(it) == [
        {"id": "it_x-ud-test-0", "tokens": ["dirglielo", "."], "tags": ["VERB", "PUNCT"]}
    ]
    # a tie read with the Spanish list (VERB AUX PRON ADP DET): PRON beats DET whatever the order
    es = _conllu(
        tmp_path, "es_x-ud-test.conllu", ["1 ve VERB 0", "2-3 xy _ _", "2 x DET 1"] + ["3 y PRON 1"]
    )
    assert load_conllu(es)[0]["tags"] == ["VERB", "PRON"]
    # DEPS heads count as ancestors: y gets a second parent, so x is the one highest node
    deps = _conllu(
        tmp_path,
        "es_y-ud-test.conllu",
        ["1 ve VERB 0", "2-3 xy _ _"] + ["2 x DET 1", "3 y PRON 1 1:obj|2:dep"],
    )
    assert load_conllu(deps)[0]["tags"] == ["VERB", "DET"]
    # a tie with a UPOS outside the precedence list stops XTREME's conversion: an error here
    bad = _conllu(
        tmp_path,
        "fr_x-ud-test.conllu",
        ["1 ve VERB 0", "2-3 xy _ _", "2 x PROPN 1"] + ["3 y NUM 1"],
    )
    with pytest.raises(DataFormatError, match=r"fr_x-ud-test.conllu:2: .*'PROPN'"):
        load_conllu(bad)


def test_conllu_skips_ranges_and_empty_nodes(tmp_path: Path) -> None:
    path = tmp_path / "x.conllu"
    cols = "\t_" * 6
    lines = ["# text = du vin", f"1-2\tdu\t_\t_{cols}", f"1\tde\tde\tADP{cols}"]
    lines += [f"1.1\tgap\t_\t_{cols}", f"2\tle\tle\tDET{cols}", "", f"1\tx\tx\tX{cols}"]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    assert load_conllu(path, multiword="subtokens") == [
        {"id": "x-0", "tokens": ["de", "le"], "tags": ["ADP", "DET"]},
        {"id": "x-1", "tokens": ["x"], "tags": ["X"]},
    ]
    # fused (XTREME's reading): both words hang from "_", a tie the default list breaks: ADP
    assert load_conllu(path)[0] == {"id": "x-0", "tokens": ["du"], "tags": ["ADP"]}


def test_panx_csv(data: Path) -> None:
    tokens = {"train": 3429, "dev": 3221, "test": 3313}
    for split, n_tokens in tokens.items():
        records = load_panx_csv(data / "panx" / f"af_{split}" / "truth.csv")
        assert len(records) == 300, split
        assert sum(len(r["tokens"]) for r in records) == n_tokens, split
        assert not any(t.startswith("af:") for r in records for t in r["tokens"]), split
    train = load_panx_csv(data / "panx" / "af_train" / "truth.csv")
    assert train[0]["id"] == "0" and train[-1]["id"] == "299"
    assert train[0]["tokens"][:5] == ["Sy", "ander", "seun", ",", "Swjatopolk"]
    assert train[0]["tags"][:5] == ["O", "O", "O", "O", "B-PER"]
    assert {t for r in train for t in r["tags"]} == {
        "O",
        "B-PER",
        "I-PER",
        "B-ORG",
        "I-ORG",
        "B-LOC",
        "I-LOC",
    }


def test_panx_token_file(tmp_path: Path) -> None:
    path = tmp_path / "dev"
    path.write_text("en:New\tB-LOC\nen:York\tI-LOC\n\nen::\tO\r\n", encoding="utf-8")
    assert load_panx_tokens(path) == [
        {"id": "0", "tokens": ["New", "York"], "tags": ["B-LOC", "I-LOC"]},
        {"id": "1", "tokens": [":"], "tags": ["O"]},
    ]


# --- BUCC / Tatoeba --------------------------------------------------------------------------


def test_bucc(data: Path) -> None:
    folder = data / "bucc2018"
    bucc = load_bucc(folder / "zh-en.dev.zh", folder / "zh-en.dev.en", folder / "zh-en.dev.gold")
    assert (len(bucc["source"]), len(bucc["target"]), len(bucc["gold"])) == (757, 757, 257)
    assert bucc["gold"][0] == ("zh-000000057", "en-000008530")
    assert bucc["gold"][-1] == ("zh-000008614", "en-000002701")
    zh = {s["id"]: s["text"] for s in bucc["source"]}
    en = {s["id"]: s["text"] for s in bucc["target"]}
    assert all(src in zh and tgt in en for src, tgt in bucc["gold"])
    assert zh["zh-000000057"] == "在突尼斯的1000万人口中，该国最大报纸的发行量是大约5万份。"
    assert en["en-000008530"].startswith("In Tunisia, the largest newspaper")


def test_tatoeba_languages_and_lines(data: Path) -> None:
    folder = data / "tatoeba"
    on_disk = {p.name.split(".")[1].removesuffix("-eng") for p in folder.glob("tatoeba.*-eng.eng")}
    xtreme = {k: v for k, v in TATOEBA_LANG3.items() if k in registry.get("tatoeba").languages}
    assert len(xtreme) == 36  # XTREME's; the rest are XTREME-R's extra languages
    assert set(xtreme.values()) == on_disk
    for lang2 in xtreme:
        records = load_tatoeba(folder, lang2)
        assert len(records) == 200, lang2
        assert all(r["source"] and r["target"] for r in records), lang2
    assert load_tatoeba(folder, "deu")[0] == {
        "id": "0",
        "source": "Maria sagte, sie wisse nicht, wo Tom sei.",
        "target": "Mary said she didn't know where Tom was.",
    }
    assert load_tatoeba(folder, "zh")[0]["source"] == "我們試試看！"


def test_tatoeba_lang3_codes() -> None:
    expected = {"ar": "ara", "he": "heb", "zh": "cmn", "fa": "pes", "sw": "swh", "jv": "jav"}
    assert {k: TATOEBA_LANG3[k] for k in expected} == expected
    with pytest.raises(ValueError, match="unknown Tatoeba language 'xx'"):
        load_tatoeba(Path("."), "xx")


# --- Multiple choice -------------------------------------------------------------------------


def test_hellaswag(data: Path) -> None:
    val = load_hellaswag(data / "hellaswag" / "hellaswag_val.jsonl")
    train = load_hellaswag(data / "hellaswag" / "hellaswag_train.jsonl")
    assert len(val) == len(train) == 2
    assert val[0] == {
        "id": "24",
        "context": "A man is sitting on a roof.",
        "question": "he",
        "choices": [
            "is using wrap to wrap a pair of skis.",
            "is ripping level tiles off.",
            "is holding a rubik's cube.",
            "starts pulling up roofing on a roof.",
        ],
        "label": 3,
    }
    assert val[1]["id"] == "92" and train[0]["id"] == "4"


def test_hellaswag_test_split_has_no_label(tmp_path: Path) -> None:
    path = tmp_path / "hellaswag_test.jsonl"
    row = {"ind": 5, "ctx_a": "A", "ctx_b": "b", "ctx": "A b", "endings": ["1", "2", "3", "4"]}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert load_hellaswag(path)[0]["label"] == -1


def test_cosmosqa(data: Path) -> None:
    records = load_cosmosqa(data / "cosmosqa" / "valid.csv")
    assert len(records) == 300
    first = records[0]
    assert first["id"].startswith("3BFF0DJK8XA7YNK4QYIGCOG1A95STE##")
    assert first["question"] == "Why is this person asking about divorce ?"
    assert first["choices"][1] == "He wants to get married to a different person ."
    assert first["label"] == 1
    assert all(len(r["choices"]) == 4 and r["label"] in range(4) for r in records)
    assert not any("\r" in r["context"] + r["id"] for r in records)


def test_commonsenseqa_both_formats_agree(data: Path) -> None:
    original = load_commonsenseqa(data / "commonsenseqa" / "dev_rand_split.jsonl")
    hf = load_commonsenseqa(data / "commonsenseqa" / "dev_rand_split.hf_format.jsonl")
    assert len(original) == 2 and len(hf) == 200
    assert original == hf[:2]
    assert original[0] == {
        "id": "1afa02df02c908a558b4036e80242fac",
        "context": "",
        "question": "A revolving door is convenient for two direction travel, "
        "but it also serves as a security measure at a what?",
        "choices": ["bank", "library", "department store", "mall", "new york"],
        "label": 0,
    }
    assert all(len(r["choices"]) == 5 and 0 <= r["label"] < 5 for r in hf)


# --- Errors ----------------------------------------------------------------------------------


def _bucc_missing(path: Path) -> Any:
    return load_bucc(path, path, path)


MISSING_FILE_CALLS: list[Callable[[Path], Any]] = [
    load_xtreme_pair_tsv,
    load_pawsx_tsv,
    lambda p: load_xnli_tsv(p, "en"),
    load_qqp_tsv,
    load_mnli_tsv,
    load_mnli_jsonl,
    load_anli_csv,
    load_anli_jsonl,
    load_squad_json,
    load_conllu,
    load_panx_tokens,
    load_panx_csv,
    _bucc_missing,
    lambda p: load_tatoeba_pair(p, p),
    lambda p: load_tatoeba(p, "de"),
    load_hellaswag,
    load_cosmosqa,
    load_commonsenseqa,
]


@pytest.mark.parametrize("call", MISSING_FILE_CALLS)
def test_missing_file(tmp_path: Path, call: Callable[[Path], Any]) -> None:
    with pytest.raises(DataFormatError, match="file not found") as err:
        call(tmp_path / "absent")
    assert str(tmp_path) in str(err.value)


def test_loaders_registry() -> None:
    assert LOADERS["squad_json"] is load_squad_json
    assert LOADERS["conllu"] is load_conllu
    assert len(LOADERS) == len(set(LOADERS.values()))  # one name per reader


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text", "load", "line", "found"),
    [
        ("x.tsv", "a\tb\tneutral\r\na\tb\r\n", load_xtreme_pair_tsv, 2, "'a\\tb'"),
        ("q.tsv", "id\tquestion1\tquestion2\tis_duplicate\n1\tq\n", load_qqp_tsv, 2, "'1\\tq'"),
        ("q.tsv", "id\tq1\tq2\n", load_qqp_tsv, 1, "'id\\tq1\\tq2'"),
        ("m.jsonl", '{"premise": "p", "hypothesis": "h", "label": "e"}\n{oops\n',
         load_mnli_jsonl, 2, "{oops"),
        ("m.jsonl", '{"premise": "p"}\n', load_mnli_jsonl, 1, "'hypothesis'"),
        ("a.csv", "context,statement,gold_label,uid\nP,H,x,u1\n", load_anli_csv, 2, "'x'"),
        ("d.conllu", "# c\n1\tA\ta\tX\n", load_conllu, 2, "'1\\tA\\ta\\tX'"),
        ("d.conllu", "a\tA\ta\tX" + "\t_" * 6 + "\n", load_conllu, 1, "'a'"),
        ("p.txt", "en:A\tO\n\nB\tO\n", load_panx_tokens, 3, "'B'"),
        ("p.txt", "en:A O\n", load_panx_tokens, 1, "'en:A O'"),
        ("t.csv", "sent_idx,word_idx,word,word_id,truth\n0,0,af:A,1,O\n0,2,af:B,2,O\n",
         load_panx_csv, 3, "'2'"),
        ("h.jsonl", '{"ctx_a": "a", "ctx_b": "b", "endings": [], "label": "x"}\n', load_hellaswag,
         1, "'x'"),
        ("c.csv", "id,context,question,answer0,answer1,answer2,answer3,label\ni,c,q,a,b\n",
         load_cosmosqa, 2, "8 CSV fields"),
        ("c.jsonl", '{"id": "i", "question": "q", "choices": {"label": ["A"], "text": ["t"]},'
         ' "answerKey": "B"}\n', load_commonsenseqa, 1, "'B'"),
    ],
)  # fmt: skip
def test_malformed_line_names_file_and_line(
    tmp_path: Path, name: str, text: str, load: Callable[[Path], Any], line: int, found: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(DataFormatError) as err:
        load(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: expected ")
    assert found in message


def test_bucc_unknown_gold_id(tmp_path: Path) -> None:
    zh = _write(tmp_path, "zh-en.dev.zh", "zh-1\t你好\n")
    en = _write(tmp_path, "zh-en.dev.en", "en-1\tHello\nen-2\tBye\n")
    gold = _write(tmp_path, "zh-en.dev.gold", "zh-1\ten-1\nzh-1\ten-3\n")
    with pytest.raises(DataFormatError) as err:
        load_bucc(zh, en, gold)
    assert str(err.value).startswith(f"{gold}:2: expected a target id present in {en}")
    assert "'en-3'" in str(err.value)
    bad_side = _write(tmp_path, "bad.en", "en-1 Hello\n")
    with pytest.raises(DataFormatError, match=rf"^{re.escape(str(bad_side))}:1: expected"):
        load_bucc(zh, bad_side, gold)


def test_tatoeba_unequal_line_counts(tmp_path: Path) -> None:
    src = _write(tmp_path, "tatoeba.deu-eng.deu", "a\nb\nc\n")
    eng = _write(tmp_path, "tatoeba.deu-eng.eng", "A\r\nB\r\n")
    with pytest.raises(DataFormatError) as err:
        load_tatoeba(tmp_path, "de")
    assert str(err.value) == f"line counts differ: {src} has 3 lines, {eng} has 2"
    eng.write_text("A\r\nB\r\nC\r\n", encoding="utf-8")
    assert [r["target"] for r in load_tatoeba_pair(src, eng)] == ["A", "B", "C"]


def test_ccgbank_auto_reads_supertags(tmp_path: Path) -> None:
    from xstilts.loaders import load_ccgbank_auto

    path = _write(
        tmp_path,
        "wsj_0001.auto",
        "ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1\n"
        "(<T S[dcl] 0 2> (<L NP NNP NNP Pierre N_73>) (<L S[dcl]\\NP VBZ VBZ joins S_1>) )\n",
    )
    assert load_ccgbank_auto(path) == [
        {"id": "wsj_0001.1", "tokens": ["Pierre", "joins"], "tags": ["NP", "S[dcl]\\NP"]}
    ]
    bad = _write(tmp_path, "bad.auto", "ID=x\n(<T S 0 2> no leaves here)\n")
    with pytest.raises(DataFormatError, match=r"bad.auto:2: expected an ID= header"):
        load_ccgbank_auto(bad)
    with pytest.raises(DataFormatError, match="LDC2005T13"):
        load_ccgbank_auto(tmp_path / "missing.auto")


def test_sst2_and_xnli_mt(tmp_path: Path) -> None:
    from xstilts.loaders import load_sst2_tsv, load_xnli_mt_tsv

    sst = _write(tmp_path, "dev.tsv", "sentence\tlabel\na fine film \t1\n")
    assert load_sst2_tsv(sst) == [{"id": "0", "text_a": "a fine film ", "text_b": "", "label": "1"}]
    mt = _write(tmp_path, "mt.tsv", "premise\thypo\tlabel\nA\tB\tcontradictory\nC\tD\tneutral\n")
    assert [r["label"] for r in load_xnli_mt_tsv(mt)] == ["contradiction", "neutral"]
