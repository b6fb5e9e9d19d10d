"""Multi-task intermediate training: the sampler's frequencies, and a real shared-encoder run."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from xstilts import config, data, features, multitask, train

SIZES = {"mnli": 8000, "qqp": 2000, "ccg": 500}


@pytest.mark.parametrize("sampling", ["proportional", "uniform", "temperature"])
def test_draw_frequencies_match_configured_probabilities(sampling):
    probs = multitask.probabilities(SIZES, sampling, temperature=2.0)
    expected = {
        "proportional": {"mnli": 0.76190, "qqp": 0.19048, "ccg": 0.04762},  # n / 10500
        "uniform": {"mnli": 1 / 3, "qqp": 1 / 3, "ccg": 1 / 3},
        # sqrt(n): 89.443, 44.721, 22.361 -> / 156.525
        "temperature": {"mnli": 0.57143, "qqp": 0.28571, "ccg": 0.14286},
    }[sampling]
    assert probs == pytest.approx(expected, abs=1e-4)
    n = 20000
    drawn = Counter(task for task, _ in multitask.schedule(SIZES, probs, 4, n, seed=3))
    # binomial sd <= sqrt(0.25 / 20000) = 0.0035: a 0.015 tolerance is over 4 sd
    for task, p in probs.items():
        assert drawn[task] / n == pytest.approx(p, abs=0.015)


def test_cap_limits_a_task_share():
    probs = multitask.probabilities(SIZES, "proportional", cap=1000)
    # capped sizes 1000, 1000, 500 -> 0.4, 0.4, 0.2: no task weighs more than its cap
    assert probs == pytest.approx({"mnli": 0.4, "qqp": 0.4, "ccg": 0.2})
    drawn = Counter(t for t, _ in multitask.schedule(SIZES, probs, 4, 10000, seed=0))
    assert drawn["mnli"] / 10000 == pytest.approx(0.4, abs=0.02)
    assert multitask.mixture(SIZES | {"mlm": 10**6}, 0.25)["mlm"] == 0.25


def test_schedule_cycles_through_every_example_before_repeating():
    plan = multitask.schedule({"a": 10}, {"a": 1.0}, 5, 4, seed=1)
    first_pass = plan[0][1] + plan[1][1]
    assert sorted(first_pass) == list(range(10))
    assert plan == multitask.schedule({"a": 10}, {"a": 1.0}, 5, 4, seed=1)  # seeded


def test_bad_sampling_is_named():
    with pytest.raises(ValueError, match="multitask.sampling"):
        multitask.probabilities(SIZES, "greedy")


def test_shared_encoder_trains_on_three_formats_and_mlm(tiny_model, tmp_path):
    spec = {
        "source": "synthetic",
        "synthetic": {"train_size": 24, "eval_size": 4, "seed": 0},
        "max_eval_examples": None,
    }
    caches = {}
    for task in ("mnli", "squad_v1", "ccg"):
        data.prepare(task, spec, tmp_path / "data" / task)
        caches[task] = tmp_path / "cache" / task
        features.tokenize(str(tiny_model), tmp_path / "data" / task, task, 64, caches[task])
    assert json.loads((caches["ccg"] / "labels.json").read_text())  # inventory from the data
    hp = dict(
        config.BASE_HPARAMS,
        learning_rate=1e-3,
        batch_size=4,
        max_length=64,
        max_steps=9,
        eval_steps=100,
    )
    out = tmp_path / "encoder"
    info = multitask.train(
        encoder=str(tiny_model),
        caches=caches,
        out_dir=out,
        checkpoint_dir=tmp_path / "ckpt",
        hp=hp,
        seed=0,
        fingerprint="t",
        sampling={"sampling": "uniform"},
        mlm_corpus=["kaba rotu mise"] * 16,
        mlm_share=0.25,
    )
    assert info["global_step"] == 9 and sum(info["batches_drawn"].values()) == 9
    assert set(info["tasks"]) == {"mnli", "squad_v1", "ccg", "mlm"}
    # the saved encoder is a bare encoder that moved away from the pretrained one
    saved = train.load_model(str(out), data.resolve("mnli", caches["mnli"]))
    before = train.load_model(str(tiny_model), data.resolve("mnli", caches["mnli"]))
    key = "roberta.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(saved.state_dict()[key], before.state_dict()[key])
    assert json.loads((out / "config.json").read_text())["architectures"] == ["XLMRobertaModel"]
