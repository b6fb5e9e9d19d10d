"""The mixed translate-train variant: its languages shared out by the multi-task sampler, at the
budget the English task and the one-language variant train on."""

from __future__ import annotations

import pytest
from conftest import tiny_hparams, tiny_study_config

from xstilts import config, sampling, train
from xstilts.hparams import HParams
from xstilts.study import Study

VARIANTS = ["mnli", "mnli@translate-train-de", "mnli@translate-train"]
SIZES = {"de": 100, "fr": 50, "sw": 10}


def _study(**overrides) -> Study:
    grid = {"models": ["tiny"], "intermediate": ["none", *VARIANTS, "qqp"], "targets": ["xnli"]}
    return Study(config.validate(tiny_study_config(grid={**grid, "seeds": [1]}, **overrides)))


@pytest.mark.parametrize(
    ("budget", "key", "value"), [("examples", "max_train_examples", 96), ("steps", "max_steps", 7)]
)
def test_english_one_language_and_mixed_share_the_budget(budget, key, value):
    study = _study(
        multilingual={"budget": budget, budget: value},
        multitask={"sampling": "temperature", "temperature": 3.0, "cap": 40},
    )
    hps = {t: study.hparams("intermediate", t) for t in VARIANTS}
    assert {getattr(hp, key) for hp in hps.values()} == {value}
    assert hps["mnli@translate-train"] == hps["mnli"].replace(
        language_sampling="temperature", language_temperature=3.0, language_cap=40
    )
    # nothing changes for any other task: their jobs keep their parameters
    assert hps["mnli@translate-train-de"] == hps["mnli"]
    for hp in (study.hparams("intermediate", "qqp"), study.hparams("target", "xnli")):
        assert (hp.language_sampling, hp.language_temperature, hp.language_cap) == (
            HParams.language_sampling,
            HParams.language_temperature,
            HParams.language_cap,
        )


@pytest.mark.parametrize(
    ("how", "cap", "expected"),
    [
        # 50 x (100, 50, 10) / 160 = 31.25, 15.625, 3.125: floors 49, fr's .625 takes the last
        ("proportional", None, {"de": 31, "fr": 16, "sw": 3}),
        # capped at 20: 50 x (20, 20, 10) / 50
        ("proportional", 20, {"de": 20, "fr": 20, "sw": 10}),
        # 50 / 3 = 16.67 each: floors 48, the tie goes to de, then fr (name order)
        ("uniform", None, {"de": 17, "fr": 17, "sw": 16}),
        # T=2: 50 x (10, 7.071, 3.162) / 20.233 = 24.71, 17.47, 7.81: sw's .81 and de's .71 round up
        ("temperature", None, {"de": 25, "fr": 17, "sw": 8}),
    ],
)
def test_language_counts_by_hand(how, cap, expected):
    probs = sampling.probabilities(SIZES, how, temperature=2.0, cap=cap)
    assert sampling.language_counts(probs, 50) == expected
    assert sum(sampling.language_counts(probs, 1001).values()) == 1001


def test_draws_are_seeded_passes_without_repeats():
    rows = sampling.draw(10, 25, "1:sw")
    assert rows == sampling.draw(10, 25, "1:sw") != sampling.draw(10, 25, "2:sw")
    first, second, third = rows[:10], rows[10:20], rows[20:]
    assert sorted(first) == sorted(second) == list(range(10)) and first != second
    assert len(set(third)) == 5
    assert sampling.draw(10, 4, "1:sw") == first[:4]  # a smaller budget: a prefix of the same pass
    with pytest.raises(ValueError, match="from none"):
        sampling.draw(0, 1, 0)


def test_language_plan_budget_and_fallbacks():
    hp = HParams(batch_size=8, language_sampling="uniform")
    plan = train.language_plan(SIZES, hp.replace(max_train_examples=60), seed=3)
    assert {k: len(v) for k, v in plan.items()} == {"de": 20, "fr": 20, "sw": 20}
    assert sorted(plan["sw"]) == sorted(list(range(10)) * 2)  # sw cycles through two passes
    assert plan == train.language_plan(SIZES, hp.replace(max_train_examples=60), seed=3)
    steps = train.language_plan(SIZES, hp.replace(max_steps=6), seed=3)  # 6 x 8 examples
    assert {k: len(v) for k, v in steps.items()} == {"de": 16, "fr": 16, "sw": 16}
    no_budget = train.language_plan(SIZES, hp, seed=3)
    assert {k: len(v) for k, v in no_budget.items()} == {"de": 54, "fr": 53, "sw": 53}
    capped = train.language_plan(
        SIZES, hp.replace(language_sampling="proportional", language_cap=20), 3
    )
    assert {k: len(v) for k, v in capped.items()} == {"de": 20, "fr": 20, "sw": 10}
    # today's plain concatenation: one language, or every example in proportion
    assert train.language_plan({"de": 100}, hp.replace(max_train_examples=60), 3) is None
    assert train.language_plan(SIZES, hp.replace(language_sampling="proportional"), 3) is None


def test_mixed_variant_trains_on_the_sampled_languages(tiny_model, tmp_path):
    import datasets

    from xstilts import features
    from xstilts.prepare import prepare

    spec = {
        "source": "synthetic",
        "synthetic": {"train_size": 40, "eval_size": 8, "seed": 0},
        "max_eval_examples": None,
    }
    prepare("mnli", spec, tmp_path / "data")
    features.tokenize(str(tiny_model), tmp_path / "data", "mnli", 64, tmp_path / "en")
    english = datasets.load_from_disk(str(tmp_path / "en"))["train.en"]
    cache = tmp_path / "mixed"
    datasets.DatasetDict(
        {"train.de": english.select(range(30)), "train.fr": english.select(range(30, 40))}
    ).save_to_disk(str(cache))
    hp = tiny_hparams(
        max_steps=2,
        eval_steps=2,
        max_train_examples=24,
        language_sampling="uniform",
        language_temperature=2.0,
        language_cap=None,
    )
    info = train.train(
        encoder=str(tiny_model),
        task_name="mnli@translate-train",
        train_cache=cache,
        select_cache=None,
        out_dir=tmp_path / "out",
        checkpoint_dir=tmp_path / "ckpt",
        hp=hp,
        seed=1,
        encoder_only=True,
        fingerprint="mix",
    )
    assert info["languages"] == {"de": 12, "fr": 12}  # fr cycles past its 10 examples
    assert info["train_examples"] == 24 and info["global_step"] == 2
