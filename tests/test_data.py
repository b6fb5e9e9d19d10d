"""Data preparation from the original files (../shared/data) and from the synthetic generator."""

from __future__ import annotations

import datasets
import pytest

from xstilts import read_local, registry, synthetic
from xstilts.loaders import DataFormatError
from xstilts.prepare import prepare
from xstilts.splits import wanted_splits


def _local(root, files=None):
    return {"source": "local", "root": str(root), "files": files or {}, "max_eval_examples": None}


def test_local_xnli_has_every_language(shared_data, tmp_path):
    # the slices hold dev files only: they serve as test here (XTREME's test files lack labels)
    spec = _local(shared_data, {"test": "xnli/dev-{lang}.tsv"})
    info = prepare("xnli", spec, tmp_path / "xnli")
    dd = datasets.load_from_disk(str(tmp_path / "xnli"))
    assert {f"validation.{lang}" for lang in registry.get("xnli").languages} <= set(dd)
    assert info["rows"]["validation.de"] == 200
    assert set(dd["validation.en"]["label"]) == {0, 1, 2}


def test_local_udpos_and_mnli(shared_data, tmp_path):
    spec = {**_local(shared_data, {"validation": "udpos/{lang}_*-ud-test.conllu"})}
    spec["languages"] = ["en", "de", "zh", "kk"]
    with pytest.raises(DataFormatError, match=r"no test file for kk .*udpos/kk_\*-ud-test"):
        prepare("udpos", spec, tmp_path / "udpos")  # no slice: an error, not a gap
    spec["languages"] = ["en", "de", "zh"]
    info = prepare("udpos", spec, tmp_path / "udpos")
    assert info["rows"]["train.en"] == 300 and info["rows"]["test.zh"] == 100
    assert info["splits_missing"] == [] and info["languages"] == ["de", "en", "zh"]
    info = prepare("mnli", _local(shared_data), tmp_path / "mnli")
    assert info["rows"] == {"train.en": 5, "validation.en": 5}


@pytest.mark.parametrize(("multiword", "tokens"), [(None, 1417), ("subtokens", 1440)])
def test_local_udpos_multiword(shared_data, tmp_path, multiword, tokens):
    """The registry reads UD-POS as XTREME does (fused forms: German "im" one token, ADP); the
    config's ``multiword: subtokens`` keeps the syntactic words ("in" + "dem")."""
    spec = {**_local(shared_data, {"validation": "udpos/{lang}_*-ud-test.conllu"})}
    spec.update(languages=["de"], multiword=multiword)
    prepare("udpos", spec, tmp_path / "udpos")
    test = datasets.load_from_disk(str(tmp_path / "udpos"))["test.de"]
    assert sum(len(t) for t in test["tokens"]) == tokens
    assert ("im" in test[1]["tokens"]) == (multiword is None)


def test_declared_gaps_are_not_asked_for_and_are_reported(shared_data, tmp_path):
    root = tmp_path / "ud"
    (root / "udpos").mkdir(parents=True)
    for name in ("en_gum-ud-train", "en_ewt-ud-dev", "en_ewt-ud-test", "de_gsd-ud-test"):
        (root / "udpos" / f"{name}.conllu").write_bytes(
            (shared_data / "udpos" / f"{name}.conllu").read_bytes()
        )
    (root / "udpos" / "th_pud-ud-test.conllu").write_bytes(
        (shared_data / "udpos" / "de_gsd-ud-test.conllu").read_bytes()
    )
    spec = {**_local(root, {"validation": "udpos/{lang}_*-ud-dev.conllu"}), "languages": ["th"]}
    info = prepare("udpos", spec, tmp_path / "out")  # Thai: test only, declared
    assert "validation.th" not in info["rows"] and info["rows"]["test.th"] == 100
    assert "validation.th" in info["splits_declared_absent"]


def test_local_errors_name_the_file(shared_data, tmp_path):
    with pytest.raises(DataFormatError, match="no train file for en .*nope.jsonl"):
        prepare("mnli", _local(shared_data, {"train": "mnli/nope.jsonl"}), tmp_path / "m")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "dev-en.tsv").write_text("a\tb\tentailment\nc\td\tmaybe\n")
    with pytest.raises(DataFormatError, match=r"'maybe'.*expects one of"):
        spec = {**_local(bad, {"validation": "dev-{lang}.tsv"}), "languages": ["en"]}
        prepare(
            "xnli", {**spec, "files": {**spec["files"], "test": "dev-{lang}.tsv"}}, tmp_path / "x"
        )


def _xnli_en(tmp_path, dev: bytes, test: bytes | None = None) -> dict:
    root = tmp_path / "x"
    root.mkdir(exist_ok=True)
    (root / "dev-en.tsv").write_bytes(dev)
    (root / "test-en.tsv").write_bytes(dev if test is None else test)
    files = {"validation": "dev-{lang}.tsv", "test": "test-{lang}.tsv"}
    return {**_local(root, files), "languages": ["en"]}


def test_empty_or_unlabelled_evaluation_files_are_errors(tmp_path):
    spec = _xnli_en(tmp_path, b"a\tb\tentailment\n", b"")
    with pytest.raises(DataFormatError, match=r"test-en\.tsv: no records .*XNLI-1\.0"):
        prepare("xnli", spec, tmp_path / "o")
    spec = _xnli_en(tmp_path, b"a\tb\tentailment\n", b"a\tb\tentailment\nc\td\t\n")
    with pytest.raises(DataFormatError, match=r"test-en\.tsv: row 1 .*no gold label.*XNLI-1\.0"):
        prepare("xnli", spec, tmp_path / "o")


def test_non_utf8_bytes_name_file_and_line(tmp_path):
    good = b"a\tb\tentailment\n" * 5000  # beyond the reader's first buffer
    spec = _xnli_en(tmp_path, good + b"c\td\xe9\tneutral\n")
    with pytest.raises(DataFormatError, match=r"dev-en\.tsv:5001: not UTF-8"):
        prepare("xnli", spec, tmp_path / "o")


def test_upos_tag_outside_the_label_set_is_an_error(shared_data, tmp_path):
    root = tmp_path / "ud"
    root.mkdir()
    text = (shared_data / "udpos" / "de_gsd-ud-test.conllu").read_text(encoding="utf-8")
    (root / "de-test.conllu").write_text(text.replace("\tPROPN\t", "\tPROPER\t", 1))
    spec = _local(root, {"validation": "de-test.conllu", "test": "de-test.conllu"})
    spec["files"]["train"] = "de-test.conllu"
    with pytest.raises(DataFormatError, match=r"de-test\.conllu: row \d+ .*\['PROPER'\] outside"):
        prepare("udpos", {**spec, "languages": ["en"]}, tmp_path / "o")


def test_repeated_question_ids_fail_at_prepare(shared_data, tmp_path):
    import json

    squad = json.loads((shared_data / "xquad" / "xquad.en.json").read_text(encoding="utf-8"))
    qas = squad["data"][0]["paragraphs"][0]["qas"]
    qas[1]["id"] = qas[0]["id"]
    (tmp_path / "xquad.en.json").write_text(json.dumps(squad))
    spec = {**_local(tmp_path, {"test": "xquad.{lang}.json"}), "languages": ["en"]}
    with pytest.raises(DataFormatError, match=rf"question id '{qas[0]['id']}' repeated"):
        prepare("xquad", spec, tmp_path / "o")


def test_synthetic_is_deterministic_and_covers_formats():
    a = synthetic.classification("de", 5, 3, registry.NLI_LABELS)
    assert a == synthetic.classification("de", 5, 3, registry.NLI_LABELS)
    assert a != synthetic.classification("fr", 5, 3, registry.NLI_LABELS)
    for row in synthetic.span_qa("zh", 20, 0):
        (text,), (start,) = row["answers"]["text"], row["answers"]["answer_start"]
        assert row["context"][start : start + len(text)] == text
    for row in synthetic.tagging("en", 20, 0, registry.PANX_LABELS):
        assert len(row["tokens"]) == len(row["tags"])
        assert set(row["tags"]) <= set(registry.PANX_LABELS)


def test_every_split_a_task_needs_has_a_local_pattern():
    """No split is left to chance: the registry names a file for each (or declares the gap) of
    a task with local files; a task without them (hub-only) has hub sources."""
    for name, task in registry.TASKS.items():
        if not task.local:
            assert task.hub, name
            continue
        for split, lang in wanted_splits(task):
            patterns = [p for _, p in read_local._patterns(task.local.get(split))]
            assert any("{lang" in p or lang == "en" for p in patterns), (name, split, lang)


def test_bucc_without_test_gold_says_where_it_comes_from(shared_data, tmp_path):
    """XTREME's download deletes BUCC's test gold: no fallback to the dev (sample) set."""
    spec = {**_local(shared_data), "languages": ["zh"]}
    with pytest.raises(
        DataFormatError,
        match=r"no test file for zh .*zh-en\.test\.gold.*"
        r"training-gold",
    ):
        prepare("bucc", spec, tmp_path / "bucc")
    spec["files"] = {"test": "bucc2018/{lang}-en.dev.gold"}  # named explicitly: accepted
    info = prepare("bucc", spec, tmp_path / "bucc")
    assert info["rows"]["test.zh"] == info["rows"]["validation.zh"] == 757 * 2
