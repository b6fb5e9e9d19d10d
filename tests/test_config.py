"""Config validation: clear errors naming the key and the allowed values, before any job."""

from __future__ import annotations

import copy
import dataclasses
import subprocess

import pytest
import yaml
from conftest import REPO, snakemake, tiny_study_config

from xstilts import config as cfg
from xstilts import registry
from xstilts.errors import ConfigError
from xstilts.hparams import RUNTIME_KEYS, HParams
from xstilts.study import Study


def _error(config: dict) -> str:
    with pytest.raises(ConfigError) as e:
        cfg.validate(config)
    return str(e.value)


@pytest.mark.parametrize("path", ["config/demo.yaml", "config/config.yaml"])
def test_shipped_configs_validate(path):
    study = Study(cfg.load(REPO / path))
    assert study.grid["seeds"]


def test_unknown_target_names_key_and_allowed_values():
    c = tiny_study_config()
    c["grid"]["targets"] = ["xnli", "xnlii"]
    msg = _error(c)
    assert "grid.targets[1]" in msg and "'xnlii'" in msg
    for task in registry.target_tasks():
        assert task in msg


def test_unknown_intermediate_lists_choices_from_registry():
    c = tiny_study_config()
    c["grid"]["intermediate"] = ["mnlj"]
    msg = _error(c)
    assert "grid.intermediate[0]" in msg
    assert all(choice in msg for choice in registry.intermediate_choices())


def test_unknown_model_field():
    c = tiny_study_config()
    c["models"]["tiny"]["hidden"] = 3
    msg = _error(c)
    assert "models.tiny" in msg and "'hidden'" in msg and "allowed keys" in msg


def test_wrong_type_and_empty_seeds():
    c = tiny_study_config()
    c["grid"]["seeds"] = []
    assert "grid.seeds" in _error(c)
    c = tiny_study_config()
    c["hparams"]["all"]["learning_rate"] = "fast"
    msg = _error(c)
    assert "hparams.all.learning_rate" in msg and "'fast'" in msg


def test_grid_model_must_be_defined():
    c = tiny_study_config()
    c["grid"]["models"] = ["tiny", "huge"]
    assert "huge" in _error(c) and "grid.models" in _error(c)


def test_defaults_filled_and_hparams_layered():
    c = tiny_study_config()
    c["hparams"]["tasks"] = {"xnli": {"epochs": 7}}
    study = Study(cfg.validate(c))
    assert study.config["data"]["max_eval_examples"] is None  # schema default
    hp = study.hparams("target", "xnli")
    assert hp.epochs == 7 and hp.learning_rate == 1e-3  # task over all over registry
    assert study.hparams("intermediate", "mnli").epochs == registry.get("mnli").epochs
    original = copy.deepcopy(c)
    cfg.validate(c)
    assert c == original  # validation does not mutate its input


def test_snakemake_refuses_bad_config_before_any_job(tmp_path):
    c = tiny_study_config()
    c["grid"]["targets"] = ["nope"]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(c))
    run = snakemake(tmp_path, "-n", configfile="bad.yaml", cores=None, timeout=120, check=False)
    assert run.returncode != 0
    assert "grid.targets[0]" in run.stdout + run.stderr
    assert "bad.yaml" in run.stdout + run.stderr  # the message names the config file
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


# --- values a job would reject, refused before any job ---
def test_checkpoint_steps_must_be_a_multiple_of_eval_steps():
    c = copy.deepcopy(tiny_study_config())  # its architecture is shared
    c["hparams"]["target"] = {"checkpoint_steps": 3}
    msg = _error(c)
    assert "checkpoint_steps 3" in msg and "eval_steps 2" in msg and "multiple" in msg
    c["hparams"]["target"] = {"checkpoint_steps": 4}
    cfg.validate(c)


def test_attention_heads_must_divide_hidden_size():
    c = copy.deepcopy(tiny_study_config())  # its architecture is shared
    c["models"]["tiny"]["build"]["architecture"]["num_attention_heads"] = 3
    msg = _error(c)
    assert "models.tiny.build.architecture" in msg
    assert "num_attention_heads 3" in msg and "hidden_size 32" in msg


def test_max_length_above_the_model_positions():
    c = copy.deepcopy(tiny_study_config())  # its architecture is shared
    c["hparams"]["tasks"] = {"udpos": {"max_length": 200}}
    msg = _error(c)  # max_position_embeddings 130: XLM-R encodes at most 128 tokens
    assert "max_length of udpos" in msg and "200" in msg and "at most 128" in msg


def test_retrieval_layer_deeper_than_the_model():
    c = copy.deepcopy(tiny_study_config())  # its architecture is shared
    c["grid"]["targets"] = ["xnli", "tatoeba"]
    c["retrieval"] = {"layer": 5}
    msg = _error(c)
    assert "retrieval.layer" in msg and "5" in msg and "num_hidden_layers 2" in msg
    c["retrieval"] = {"layer": 2}
    cfg.validate(c)


def test_stray_brace_in_a_file_pattern():
    c = copy.deepcopy(tiny_study_config())  # its architecture is shared
    c["data"]["tasks"] = {"udpos": {"files": {"test": ["ud/{lang}.conllu", "ud/{lang.conllu"]}}}
    msg = _error(c)
    assert "data.tasks.udpos.files.test[1]" in msg and "'ud/{lang.conllu'" in msg
    c["data"]["tasks"] = {"udpos": {"files": {"test": "ud/{language}.conllu"}}}
    assert "{language}" in _error(c)


def test_every_value_problem_reported_at_once():
    c = copy.deepcopy(tiny_study_config())  # its architecture is shared
    c["hparams"]["target"] = {"checkpoint_steps": 3}
    c["models"]["tiny"]["build"]["architecture"]["num_attention_heads"] = 3
    assert "(3 problem(s))" in _error(c)  # xnli and udpos checkpoints, and the heads


def test_check_config_yaml_error_names_file_and_line(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("models:\n  tiny:\n    hub: x\ngrid: [a, b\ndata: {}\n")
    run = subprocess.run(
        ["xstilts", "check-config", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert f"{bad}:5:" in run.stderr and "not valid YAML" in run.stderr
    assert "Traceback" not in run.stderr


def test_hub_model_resolves_to_its_mirror_snapshot():
    c = copy.deepcopy(tiny_study_config())  # its architecture is shared
    c["models"] = {"xlmr": {"hub": "FacebookAI/xlm-roberta-base", "revision": "refs/pr/3"}}
    c["grid"]["models"] = ["xlmr"]
    c["hub"] = {"mirror": "/m"}
    study = Study(cfg.validate(c))
    assert study.model_ref("xlmr") == "/m/models/FacebookAI/xlm-roberta-base/refs--pr--3"
    c["models"]["xlmr"].pop("revision")
    assert Study(cfg.validate(c)).model_ref("xlmr").endswith("xlm-roberta-base/main")


def test_hparams_declared_once_and_carried_as_json():
    """The schema checks exactly HParams' training fields and declares no default of its own;
    the run-time keys come from the model; the JSON a rule passes reads back equal."""
    schema = cfg.load_schema()["$defs"]["hparams"]["properties"]
    fields = {f.name for f in dataclasses.fields(HParams)}
    assert (
        set(schema) | set(RUNTIME_KEYS) | {k for k in fields if k.startswith("language_")} == fields
    )
    assert not any("default" in spec for spec in schema.values())
    assert registry.get("mnli").learning_rate == HParams.learning_rate
    c = tiny_study_config()
    c["models"]["tiny"].update(dataloader_workers=2, torch_compile=True)
    study = Study(cfg.validate(c))
    hp = study.hparams("target", "xnli", "tiny")
    assert (hp.dataloader_workers, hp.torch_compile) == (2, True)
    assert study.hparams("target", "xnli").dataloader_workers == HParams.dataloader_workers
    assert HParams.from_json(hp.to_json()) == hp
    c["hparams"]["all"]["warmup"] = 0.1  # unknown: refused at validation, naming the key
    assert "hparams.all" in _error(c) and "'warmup'" in _error(c)


def test_save_margin_must_precede_the_warning_signal():
    c = tiny_study_config()
    c["cluster"] = {"save_margin_min": 10, "signal_margin_min": 10}
    msg = _error(c)
    assert "'cluster.save_margin_min' (10 min)" in msg and "'cluster.signal_margin_min'" in msg
    c["cluster"] = {"save_margin_min": 11.5, "signal_margin_min": 10}
    cfg.validate(c)
