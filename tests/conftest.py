"""Shared fixtures: a tiny XLM-R built locally, the real data slices, a tiny study config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DS_ACCELERATOR", "cpu")

TINY_ARCHITECTURE = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 130,
}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data slices not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer XLM-R with a tokenizer trained on the synthetic corpus, saved like a hub model."""
    from xstilts import demo_model

    out = tmp_path_factory.mktemp("tiny-model") / "model"
    spec = {
        "architecture": TINY_ARCHITECTURE,
        "vocab_size": 2000,
        "mlm_steps": 5,
        "corpus_sentences_per_language": 40,
    }
    demo_model.build(out, spec, ["en", "de", "zh", "ar", "hi", "vi"], seed=0)
    return out


def tiny_hparams(**overrides) -> dict:
    """The registry's base hyper-parameters at a tiny model's scale (learning rate 1e-3, batch 8,
    64 tokens), with ``overrides``."""
    from xstilts import config

    return {**config.BASE_HPARAMS, "learning_rate": 1e-3, "batch_size": 8, "max_length": 64,
            **overrides}  # fmt: skip


def tiny_study_config(**overrides) -> dict:
    """A complete, small study config (synthetic data, tiny model, a few steps)."""
    config = {
        "models": {
            "tiny": {
                "build": {
                    "architecture": TINY_ARCHITECTURE,
                    "vocab_size": 1500,
                    "mlm_steps": 10,
                    "corpus_sentences_per_language": 30,
                }
            }
        },
        "grid": {
            "models": ["tiny"],
            "intermediate": ["none", "mnli"],
            "targets": ["xnli", "udpos"],
            "seeds": [1],
        },
        "data": {"source": "synthetic", "synthetic": {"train_size": 64, "eval_size": 8}},
        "hparams": {
            "all": {
                "learning_rate": 1e-3,
                "batch_size": 8,
                "max_length": 64,
                "max_steps": 4,
                "eval_steps": 2,
            }
        },
        "keep_target_models": True,
    }
    config.update(overrides)
    return config
