"""Multiple-choice format on real HellaSwag, CosmosQA and CommonsenseQA and on synthetic data:
pair encoding and truncation, padding, the head, a Trainer run, scoring, learning."""

from __future__ import annotations

import numpy as np
import pytest

from xstilts import features, synthetic
from xstilts.evaluate import predict
from xstilts.formats import multiple_choice as mc
from xstilts.loaders.multiple_choice import load_commonsenseqa, load_cosmosqa, load_hellaswag
from xstilts.models import load_model
from xstilts.registry import Task

MAX_LENGTH = 64
TASK = Task(
    name="hellaswag",
    format="multiple_choice",
    role="intermediate",
    metrics=("accuracy",),
    labels=("0", "1", "2", "3"),
)
# dataset -> (loader, file, (first, second) segments expected for a record's choice)
REAL = {
    "hellaswag": (
        load_hellaswag,
        "hellaswag/hellaswag_val.jsonl",
        lambda r, c: (r["context"], f"{r['question']} {c}" if r["question"] else c),
    ),
    "cosmosqa": (
        load_cosmosqa,
        "cosmosqa/valid.csv",
        lambda r, c: (r["context"], f"{r['question']} {c}"),
    ),
    "commonsenseqa": (
        load_commonsenseqa,
        "commonsenseqa/dev_rand_split.hf_format.jsonl",
        lambda r, c: (r["question"], c),
    ),
}


def _dataset(rows: list[dict]):
    import datasets

    return datasets.Dataset.from_list(rows)


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="module")
def real(shared_data) -> dict[str, list[dict]]:
    return {name: loader(shared_data / path)[:40] for name, (loader, path, _) in REAL.items()}


def _trainer(model, tokenizer, tmp_path, train_dataset=None, **overrides):
    from transformers import Trainer, TrainingArguments

    settings = {
        "output_dir": str(tmp_path / "trainer"),
        "use_cpu": True,
        "report_to": [],
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 8,
        "save_strategy": "no",
        "disable_tqdm": True,
        "seed": 0,
    }
    args = TrainingArguments(**{**settings, **overrides})
    return Trainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        data_collator=mc.collator(tokenizer),
    )


def test_model_kwargs_and_head_on_mlm_and_saved_encoder(tiny_model, tokenizer, tmp_path):
    import torch
    from transformers import AutoModelForMaskedLM

    assert mc.model_kwargs(TASK) == {}
    mlm = AutoModelForMaskedLM.from_pretrained(tiny_model)
    model = load_model(str(tiny_model), TASK)
    assert type(model).__name__ == "XLMRobertaForMultipleChoice"
    assert model.classifier.out_features == 1
    embeddings = model.base_model.embeddings.word_embeddings.weight
    assert torch.equal(embeddings, mlm.base_model.embeddings.word_embeddings.weight)

    # An intermediate run saves the bare encoder (with neutral labels); the next head loads it.
    with torch.no_grad():
        model.base_model.embeddings.word_embeddings.weight.add_(1.0)
    model.base_model.config.num_labels = 2
    model.base_model.save_pretrained(tmp_path / "encoder")
    tokenizer.save_pretrained(tmp_path / "encoder")
    reloaded = load_model(str(tmp_path / "encoder"), TASK)
    assert torch.equal(reloaded.base_model.embeddings.word_embeddings.weight, embeddings)

    feats = mc.featurize(
        _dataset(synthetic.multiple_choice("en", 3, 0, 4)), tokenizer, TASK, MAX_LENGTH, True
    )
    with torch.no_grad():
        out = reloaded(**mc.collator(tokenizer)(list(feats)))
    assert out.logits.shape == (3, 4)
    assert torch.isfinite(out.loss)


@pytest.mark.parametrize("name", list(REAL))
def test_featurize_real_pairs_and_only_first_truncation(name, real, tokenizer):
    rows = real[name]
    segments = REAL[name][2]
    feats = mc.featurize(_dataset(rows), tokenizer, TASK, MAX_LENGTH, train=False)
    assert len(feats) == len(rows)
    assert feats["labels"] == [r["label"] for r in rows]
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    truncated = 0
    for row, choice_ids, masks in zip(
        rows, feats["input_ids"], feats["attention_mask"], strict=True
    ):
        assert len(choice_ids) == len(row["choices"]) == len(masks)
        for choice, ids, mask in zip(row["choices"], choice_ids, masks, strict=True):
            first, second = segments(row, choice)
            first_ids = tokenizer(first, add_special_tokens=False)["input_ids"]
            second_ids = tokenizer(second, add_special_tokens=False)["input_ids"]
            assert mask == [1] * len(ids)
            assert len(ids) <= MAX_LENGTH
            if len(second_ids) + specials >= MAX_LENGTH:
                continue  # "longest_first" fallback: tested on synthetic data
            # <s> first </s></s> second </s>, the first segment alone cut to fit.
            kept = len(ids) - len(second_ids) - specials
            assert ids[-len(second_ids) - 1 : -1] == second_ids
            assert ids[1 : 1 + kept] == first_ids[:kept]
            assert kept == min(len(first_ids), MAX_LENGTH - len(second_ids) - specials)
            truncated += kept < len(first_ids)
    if name == "cosmosqa":  # long contexts: the only_first path must actually be exercised
        assert truncated > 0


def test_featurize_falls_back_to_longest_first_and_keeps_unlabelled(tokenizer):
    rows = synthetic.multiple_choice("en", 3, 0, 4)
    long_choice = " ".join(synthetic.multiple_choice("en", 20, 1, 4)[0]["choices"] * 8)
    rows[0]["choices"][2] = long_choice
    rows[1]["label"] = -1
    rows[2]["question"] = "nai"
    feats = mc.featurize(_dataset(rows), tokenizer, TASK, 24, train=True)
    assert feats["labels"] == [rows[0]["label"], -1, rows[2]["label"]]
    cut = feats["input_ids"][0][2]
    assert len(cut) == 24
    context = tokenizer(rows[0]["context"], add_special_tokens=False)["input_ids"]
    assert 0 < cut.index(tokenizer.sep_token_id) - 1 < len(context)  # both segments were cut
    question = tokenizer("nai", add_special_tokens=False)["input_ids"]
    second_start = feats["input_ids"][2][0].index(tokenizer.sep_token_id) + 2
    assert feats["input_ids"][2][0][second_start : second_start + len(question)] == question

    rows[2]["label"] = 4
    with pytest.raises(ValueError, match="out of range"):
        mc.featurize(_dataset(rows), tokenizer, TASK, 24, train=True)


def test_collator_pads_choices_to_batch_longest(real, tokenizer):
    rows = real["commonsenseqa"][:3]
    rows[1] = dict(rows[1], label=-1)
    examples = list(mc.featurize(_dataset(rows), tokenizer, TASK, MAX_LENGTH, train=False))
    batch = mc.collator(tokenizer)(examples)
    longest = max(len(ids) for ex in examples for ids in ex["input_ids"])
    assert batch["input_ids"].shape == batch["attention_mask"].shape == (3, 5, longest)
    assert batch["labels"].tolist() == [rows[0]["label"], mc.IGNORE, rows[2]["label"]]
    lengths = {len(ids) for ex in examples for ids in ex["input_ids"]}
    assert len(lengths) > 1  # padding actually happens
    for b, ex in enumerate(examples):
        for c, ids in enumerate(ex["input_ids"]):
            n = len(ids)
            assert batch["input_ids"][b, c, :n].tolist() == ids
            assert set(batch["input_ids"][b, c, n:].tolist()) <= {tokenizer.pad_token_id}
            assert batch["attention_mask"][b, c].tolist() == [1] * n + [0] * (longest - n)

    four = list(mc.featurize(_dataset(real["cosmosqa"][:1]), tokenizer, TASK, 32, False))
    with pytest.raises(ValueError, match="different numbers of choices"):
        mc.collator(tokenizer)(examples[:1] + four)


def test_trainer_trains_predicts_and_scores_real_data(real, tiny_model, tokenizer, tmp_path):
    rows = real["commonsenseqa"]
    train = mc.featurize(_dataset(rows[:24]), tokenizer, TASK, MAX_LENGTH, train=True)
    model = load_model(str(tiny_model), TASK)
    before = model.classifier.weight.detach().clone()
    trainer = _trainer(model, tokenizer, tmp_path, train, max_steps=3, learning_rate=1e-3)
    result = trainer.train()
    assert trainer.state.global_step == 3 and np.isfinite(result.training_loss)
    assert not np.allclose(before.numpy(), model.classifier.weight.detach().numpy())

    held_out = [dict(r) for r in rows[24:]]
    held_out[0]["label"] = -1  # unlabelled: predicted, not scored
    examples = _dataset(held_out)
    feats = mc.featurize(examples, tokenizer, TASK, MAX_LENGTH, train=False)
    feats = feats.add_column("length", [features._n_tokens(x) for x in feats["input_ids"]])
    logits = predict(model, feats, mc.collator(tokenizer), 4)  # batches sorted by length
    assert logits.shape == (len(held_out), 5)
    direct = trainer.predict(feats).predictions  # the Trainer's own loop, unsorted
    np.testing.assert_allclose(logits, direct, rtol=1e-4, atol=1e-5)

    metrics, predictions = mc.score(logits, examples, feats, TASK, "en")
    assert 0.0 <= metrics["accuracy"] <= 100.0
    expected = np.argmax(logits[1:], -1) == np.array([r["label"] for r in held_out[1:]])
    assert metrics["accuracy"] == pytest.approx(100 * expected.mean())
    assert [p["id"] for p in predictions] == [r["id"] for r in held_out]
    assert [p["gold"] for p in predictions] == [r["label"] for r in held_out]
    assert all(p["prediction"] in range(5) for p in predictions)


def test_oracle_and_selection_metric_ignore_unlabelled():
    gold = [0, 3, 1, 2, 2, -1]
    examples = _dataset([{"id": str(i), "label": g} for i, g in enumerate(gold)])
    rng = np.random.default_rng(0)
    oracle = rng.normal(size=(len(gold), 4))
    oracle[np.arange(len(gold)), gold] = 10.0
    metrics, predictions = mc.score(oracle, examples, None, TASK, "en")
    assert metrics == {"accuracy": 100.0}
    assert [p["prediction"] for p in predictions] == [0, 3, 1, 2, 2, 3]
    wrong = np.roll(oracle, 1, axis=1)
    assert mc.score(wrong, examples, None, TASK, "en")[0] == {"accuracy": 0.0}
    unlabelled = _dataset([{"id": "a", "label": -1}])
    assert mc.score(oracle[:1], unlabelled, None, TASK, "en") == (
        {},
        [{"id": "a", "prediction": 0, "gold": -1}],
    )

    collated = np.array([0, 3, 1, 2, 0, mc.IGNORE])  # labels as the collator hands them over
    assert mc.selection_metric((oracle, collated)) == {"accuracy": 80.0}


def test_learns_synthetic_choice_class(tiny_model, tokenizer, tmp_path):
    """Synthetic examples whose context is of class 0: the right ending is the one of class 0, so
    the head must score every choice in its own slot. (Matching arbitrary classes between context
    and choice is beyond a 2-layer, 32-wide model in a few CPU steps.)"""

    def rows(n: int, seed: int) -> list[dict]:
        pool = synthetic.multiple_choice("en", 8 * n, seed, 4)
        return [r for r in pool if r["context"].startswith(synthetic.PREFIXES[0])][:n]

    train = mc.featurize(_dataset(rows(160, 0)), tokenizer, TASK, MAX_LENGTH, train=True)
    held_out = _dataset(rows(60, 1))
    feats = mc.featurize(held_out, tokenizer, TASK, MAX_LENGTH, train=False)
    trainer = _trainer(
        load_model(str(tiny_model), TASK),
        tokenizer,
        tmp_path,
        train,
        max_steps=40,
        learning_rate=3e-3,
        per_device_train_batch_size=8,
    )
    trainer.train()
    metrics, _ = mc.score(trainer.predict(feats).predictions, held_out, feats, TASK, "en")
    assert metrics["accuracy"] > 50.0  # chance: 25
