"""Every intermediate task with real samples (../shared/data) through the cluster's loaders
(local-file source), tokenised and trained a few steps on the tiny model."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_hparams

from xstilts import config, features, registry, train
from xstilts.errors import ConfigError
from xstilts.loaders import DataFormatError
from xstilts.prepare import prepare
from xstilts.study import Study

# The slices hold dev sets only: they stand in for the training files here.
LOCAL = {
    "mnli": {"train": "mnli/mnli_train.jsonl", "validation": "mnli/mnli_val.jsonl"},
    "qqp": {"train": "qqp/dev.tsv", "validation": "qqp/dev.tsv"},
    "anli_plus": {
        "train": ["anli_csv:anli/ANLI_analysis_r[12]_dev.csv", "mnli_jsonl:mnli/mnli_train.jsonl"],
        "validation": "anli_csv:anli/ANLI_analysis_r3_dev.csv",
    },
    "squad_v1": {"train": "squad/dev-v1.1.json", "validation": "squad/dev-v1.1.json"},
    "squad_v2": {"train": "squad/dev-v2.0.json", "validation": "squad/dev-v2.0.json"},
    "hellaswag": {},  # the registry's own file names match the slices
    "cosmosqa": {"train": "cosmosqa/valid.csv"},
    "commonsenseqa": {
        "train": "commonsenseqa/dev_rand_split.hf_format.jsonl",
        "validation": "commonsenseqa/dev_rand_split.jsonl",
    },
}
HP = tiny_hparams(batch_size=4, max_steps=2, eval_steps=1, max_train_examples=24)


@pytest.mark.parametrize("task", sorted(LOCAL))
def test_real_sample_trains(task, shared_data, tiny_model, tmp_path):
    spec = {
        "source": "local",
        "root": str(shared_data),
        "files": LOCAL[task],
        "loader": None,
        "max_eval_examples": 16,
    }
    info = prepare(task, spec, tmp_path / "data")
    assert info["rows"]["train.en"] > 0 and info["rows"]["validation.en"] > 0
    max_length = 128 if registry.get(task).format == "span_qa" else 64
    features.tokenize(str(tiny_model), tmp_path / "data", task, max_length, tmp_path / "cache")
    out = tmp_path / "encoder"
    result = train.train(
        encoder=str(tiny_model),
        task_name=task,
        train_cache=tmp_path / "cache",
        select_cache=tmp_path / "cache",
        out_dir=out,
        checkpoint_dir=tmp_path / "ckpt",
        hp=HP,
        seed=0,
        encoder_only=True,
        fingerprint=task,
    )
    assert result["global_step"] == 2 and result["best_metric"] is not None
    assert json.loads((out / "config.json").read_text())["architectures"] == ["XLMRobertaModel"]


def test_anli_plus_mixes_its_sources(shared_data, tmp_path):
    spec = {
        "source": "local",
        "root": str(shared_data),
        "files": LOCAL["anli_plus"],
        "loader": None,
        "max_eval_examples": None,
    }
    info = prepare("anli_plus", spec, tmp_path / "d")
    assert info["rows"]["train.en"] == 100 + 100 + 5  # ANLI r1, r2 (100 each) + jiant MNLI (5)


def test_squad_v2_keeps_unanswerable_questions(shared_data, tmp_path):
    spec = {
        "source": "local",
        "root": str(shared_data),
        "files": LOCAL["squad_v2"],
        "loader": None,
        "max_eval_examples": None,
    }
    prepare("squad_v2", spec, tmp_path / "d")
    import datasets

    rows = datasets.load_from_disk(str(tmp_path / "d"))["validation.en"]
    assert sum(not r["answers"]["text"] for r in rows) == 112  # of 208 (README of the slices)


def test_ccg_without_ccgbank_fails_before_any_job(tmp_path):
    from conftest import tiny_study_config

    c = tiny_study_config()
    c["grid"]["intermediate"] = ["none", "ccg"]
    c["data"] = {"source": "local", "root": str(tmp_path)}
    with pytest.raises(ConfigError, match="LDC2005T13.*data.tasks.ccg.root"):
        config.validate(c)
    c["data"]["tasks"] = {"ccg": {"source": "local", "root": str(tmp_path / "nope")}}
    config.validate(c)  # a path is named: the prepare job checks it exists
    with pytest.raises(DataFormatError, match="LDC2005T13"):
        prepare("ccg", Study(config.validate(c)).data_source("ccg"), tmp_path / "o")
