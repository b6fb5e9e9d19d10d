"""The demo's encoder: built from a spec and a seed, the same bytes every time."""

from __future__ import annotations

import hashlib

from conftest import TINY_ARCHITECTURE

from xstilts import demo_model

SPEC = {
    "architecture": TINY_ARCHITECTURE,
    "vocab_size": 500,
    "mlm_steps": 3,
    "corpus_sentences_per_language": 20,
}


def _digests(folder) -> dict[str, str]:
    names = ("model.safetensors", "tokenizer.json", "config.json")
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def test_build_is_reproducible(tmp_path):
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        info = demo_model.build(tmp_path / name, SPEC, ["en", "de"], seed=seed)
        assert info["vocab_size"] <= SPEC["vocab_size"]
        runs[name] = _digests(tmp_path / name)
    assert runs["a"] == runs["b"]  # initial weights, MLM masking and batches all seeded
    assert runs["a"]["model.safetensors"] != runs["c"]["model.safetensors"]
