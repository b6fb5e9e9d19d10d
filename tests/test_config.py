"""Config validation: clear errors naming the key and the allowed values, before any job."""

from __future__ import annotations

import copy
import subprocess

import pytest
import yaml
from conftest import REPO, tiny_study_config

from xstilts import config as cfg
from xstilts import registry


def _error(config: dict) -> str:
    with pytest.raises(cfg.ConfigError) as e:
        cfg.validate(config)
    return str(e.value)


@pytest.mark.parametrize("path", ["config/demo.yaml", "config/config.yaml"])
def test_shipped_configs_validate(path):
    study = cfg.Study(cfg.load(REPO / path))
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
    study = cfg.Study(cfg.validate(c))
    assert study.config["data"]["max_eval_examples"] is None  # schema default
    hp = study.hparams("target", "xnli")
    assert hp["epochs"] == 7 and hp["learning_rate"] == 1e-3  # task over all over registry
    assert study.hparams("intermediate", "mnli")["epochs"] == registry.get("mnli").epochs
    original = copy.deepcopy(c)
    cfg.validate(c)
    assert c == original  # validation does not mutate its input


def test_snakemake_refuses_bad_config_before_any_job(tmp_path):
    c = tiny_study_config()
    c["grid"]["targets"] = ["nope"]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(c))
    run = subprocess.run(
        ["snakemake", "-s", str(REPO / "Snakefile"), "--configfile", "bad.yaml", "-n"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert "grid.targets[0]" in run.stdout + run.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()
