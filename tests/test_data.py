"""Data preparation from the original files (../shared/data) and from the synthetic generator."""

from __future__ import annotations

import datasets
import pytest

from xstilts import data, registry, synthetic
from xstilts.loaders import DataFormatError


def _local(root, files=None):
    return {"source": "local", "root": str(root), "files": files or {}, "max_eval_examples": None}


def test_local_xnli_has_every_language(shared_data, tmp_path):
    info = data.prepare("xnli", _local(shared_data), tmp_path / "xnli")
    dd = datasets.load_from_disk(str(tmp_path / "xnli"))
    assert {f"validation.{lang}" for lang in registry.get("xnli").languages} <= set(dd)
    assert info["rows"]["validation.de"] == 200
    assert set(dd["validation.en"]["label"]) == {0, 1, 2}


def test_local_udpos_and_mnli(shared_data, tmp_path):
    info = data.prepare("udpos", _local(shared_data), tmp_path / "udpos")
    assert info["rows"]["train.en"] == 300 and info["rows"]["test.zh"] == 100
    assert "test.yo" in info["splits_missing"]  # not in the slices: recorded, not invented
    assert "validation.de" in info["splits_missing"]  # the English dev file is not German
    info = data.prepare("mnli", _local(shared_data), tmp_path / "mnli")
    assert info["rows"] == {"train.en": 5, "validation.en": 5}


def test_local_errors_name_the_file(shared_data, tmp_path):
    with pytest.raises(DataFormatError, match="no training file for en .*nope.jsonl"):
        data.prepare("mnli", _local(shared_data, {"train": "mnli/nope.jsonl"}), tmp_path / "m")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "dev-en.tsv").write_text("a\tb\tentailment\nc\td\tmaybe\n")
    with pytest.raises(DataFormatError, match=r"'maybe'.*expects one of"):
        data.prepare("xnli", _local(bad, {"validation": "dev-{lang}.tsv"}), tmp_path / "x")


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
