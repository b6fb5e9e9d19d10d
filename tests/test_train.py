"""Real Trainer steps on the tiny model: both phases, encoder carry-over, fresh heads."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import REPO, tiny_hparams

from xstilts import features, models, train
from xstilts.prepare import prepare
from xstilts.registry import get

HP = tiny_hparams(max_steps=3, eval_steps=2)
SPEC = {
    "source": "synthetic",
    "synthetic": {"train_size": 32, "eval_size": 8, "seed": 0},
    "max_eval_examples": None,
}


@pytest.fixture(scope="module")
def caches(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("caches")
    out = {}
    for task in ("mnli", "xnli", "udpos"):
        prepare(task, SPEC, root / "data" / task)
        features.tokenize(str(tiny_model), root / "data" / task, task, 64, root / "cache" / task)
        out[task] = root
    return root


def _train(tiny_model, caches, tmp_path, task, train_task, encoder, encoder_only):
    out = tmp_path / f"{task}-out"
    info = train.train(
        encoder=str(encoder),
        task_name=task,
        train_cache=caches / "cache" / train_task,
        select_cache=caches / "cache" / task,
        out_dir=out,
        checkpoint_dir=tmp_path / "ckpt",
        hp=HP,
        seed=1,
        encoder_only=encoder_only,
        fingerprint="test",
    )
    return out, info


def test_intermediate_saves_encoder_only_and_target_gets_fresh_head(tiny_model, caches, tmp_path):
    enc, info = _train(tiny_model, caches, tmp_path, "mnli", "mnli", tiny_model, True)
    assert info["global_step"] == 3 and info["train_tokens"] > 0
    assert json.loads((enc / "config.json").read_text())["architectures"] == ["XLMRobertaModel"]
    assert not (tmp_path / "ckpt").exists()  # checkpoints are removed once the model is saved

    intermediate = models.load_model(str(enc), get("mnli"))  # encoder + a new NLI head
    target = models.load_model(str(enc), get("udpos"))
    inter_sd, target_sd = intermediate.state_dict(), target.state_dict()
    encoder_keys = [k for k in target_sd if k.startswith("roberta.")]
    assert encoder_keys and all(torch.equal(target_sd[k], inter_sd[k]) for k in encoder_keys)
    # the intermediate model's (trained) head never reaches the target model
    from safetensors.torch import load_file

    saved = load_file(enc / "model.safetensors")
    assert not any(k.startswith("classifier") for k in saved)
    assert target.classifier.weight.shape[0] == get("udpos").num_labels


def test_target_training_resumes_only_its_own_checkpoints(tiny_model, caches, tmp_path):
    ckpt = tmp_path / "ckpt"
    (ckpt / "checkpoint-2").mkdir(parents=True)
    (ckpt / "FINGERPRINT").write_text("another job")
    assert train.resumable_checkpoint(ckpt, "this job") is None
    assert not (ckpt / "checkpoint-2").exists()

    out, info = _train(tiny_model, caches, tmp_path, "xnli", "mnli", tiny_model, False)
    assert info["resumed_from"] is None and info["best_checkpoint"]
    assert (out / "model.safetensors").is_file()


def test_a_job_keeps_only_the_newest_checkpoint_and_the_best(
    tiny_model, caches, tmp_path, monkeypatch
):
    """Stopped mid-training (by its time limit), a job with a selection set leaves its newest
    checkpoint and the best one, nothing older: what the peak-disk figure counts."""
    import time

    from xstilts import disk, preemption

    monkeypatch.setenv("SLURM_JOB_END_TIME", str(int(time.time() + 3608)))
    monkeypatch.setenv("XSTILTS_SAVE_MARGIN_S", "3600")  # stop after ~8 s
    monkeypatch.setenv("XSTILTS_TEST_STEP_DELAY", "0.2")
    ckpt = tmp_path / "ckpt"
    with pytest.raises(preemption.Preempted) as e:
        train.train(
            encoder=str(tiny_model), task_name="xnli", train_cache=caches / "cache" / "mnli",
            select_cache=caches / "cache" / "xnli", out_dir=tmp_path / "out", checkpoint_dir=ckpt,
            hp=HP.replace(max_steps=200), seed=1, encoder_only=False, fingerprint="disk",
        )  # fmt: skip
    stop = ckpt / f"checkpoint-{e.value.step}"
    state = json.loads((stop / "trainer_state.json").read_text())
    kept = sorted(p.name for p in ckpt.glob("checkpoint-*"))
    assert e.value.step > 6 and stop.name in kept, kept  # several regular saves came before
    assert set(kept) == {stop.name, state["best_model_checkpoint"].rsplit("/", 1)[1]}, kept
    assert len(kept) <= disk.checkpoints_at_peak(select=True) - 1
    assert disk.peak_checkpoint_bytes(9e9, 100, select=True) == 2.7e12
    assert disk.peak_checkpoint_bytes(9e9, 100, select=False) == 1.8e12


def test_a_training_job_leaves_its_curves_and_logs_its_progress(
    tiny_model, caches, tmp_path, caplog
):
    """The curve file holds every logged step and evaluation; the evaluation at the selected
    checkpoint is the metric the job reports (what its manifest records)."""
    from xstilts import curves

    with caplog.at_level("INFO", logger="xstilts.curves"):
        out, info = _train(tiny_model, caches, tmp_path, "xnli", "mnli", tiny_model, False)
    records = curves.read(out / info["curves"])
    start, end = records[0], records[-1]
    assert start["event"] == "start" and start["max_steps"] == 3
    assert [r["step"] for r in records if "loss" in r] == [2, 3]  # logging_steps, last step
    assert all("learning_rate" in r and "grad_norm" in r for r in records if "loss" in r)
    assert end["best_checkpoint"] == info["best_checkpoint"].rsplit("/", 1)[1]
    (selected,) = [r for r in curves.evaluations(records) if r["step"] == end["best_step"]]
    assert selected["eval_accuracy"] == info["best_metric"] == end["best_metric"]
    assert curves.progress(records)["step"] == 3 and not end["early_stop"]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress:")]
    assert lines and lines[-1].startswith("progress: step 3/3 (100%) loss ")
    assert "tokens/s" in lines[-1] and "\r" not in "".join(lines)
    try:  # the `tensorboard` extra: the same scalars as TensorBoard events
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return
    events = EventAccumulator(str(out / curves.TENSORBOARD))
    events.Reload()
    assert [e.step for e in events.Scalars("loss")] == [2, 3]
    assert events.Scalars("eval_accuracy")[0].value == pytest.approx(selected["eval_accuracy"])


# TrainingArguments of demo cells as they were before HParams (micro-batch 4, selection on):
# (model, phase, task) -> (learning rate, epochs, max_steps, best-checkpoint metric)
DEMO_ARGS = {
    ("tiny-xlmr", "intermediate", "mnli"): (1e-3, 3.0, 100, "accuracy"),
    ("tiny-xlmr", "intermediate", "multitask"): (1e-3, 3.0, 100, "loss"),
    ("tiny-xlmr-s", "intermediate", "mnli@translate-train-de"): (3e-3, 3.0, 100, "accuracy"),
    ("tiny-xlmr", "target", "xquad"): (1e-3, 2, 60, "loss"),
    ("tiny-xlmr", "target", "udpos"): (1e-3, 10, 60, "accuracy"),
    ("tiny-xlmr-s", "target", "xcopa"): (3e-3, 5, 60, "accuracy"),
}


@pytest.mark.parametrize("cell", DEMO_ARGS)
def test_demo_cells_reach_the_trainer_unchanged(cell, tmp_path):
    from xstilts import config, formats, registry
    from xstilts.study import Study

    model, phase, task = cell
    hp = Study(config.load(REPO / "config" / "demo.yaml")).hparams(phase, task, model)
    fmt = formats.get(registry.get(task).format) if task in registry.TASKS else None
    args = train.training_arguments(hp, tmp_path, 3, True, fmt, micro_batch=4)
    lr, epochs, steps, metric = DEMO_ARGS[cell]
    got = (args.learning_rate, args.num_train_epochs, args.max_steps, args.metric_for_best_model)
    assert got == (lr, epochs, steps, metric)
    assert type(args.num_train_epochs) is type(epochs)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (4, 4)
    assert (args.eval_steps, args.save_steps, args.logging_steps) == (20, 20, 20)
    assert (args.warmup_steps, args.weight_decay, args.max_grad_norm, args.adam_epsilon) == (
        0.1,
        0.0,
        1.0,
        1e-8,
    )
    assert (args.dataloader_num_workers, args.torch_compile) == (0, False)
