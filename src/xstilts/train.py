"""Fine-tune an encoder on one task with ``transformers.Trainer`` (both phases of the study).

The head comes from the task's format and is always new: only the encoder carries over from the
intermediate phase. An intermediate run saves the encoder alone; a target run saves the whole
model for evaluation. Checkpoints go to their own folder, and a re-run resumes from the last one.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from xstilts import features, formats, registry

log = logging.getLogger(__name__)


def load_model(encoder: str, task, **kwargs):
    """A fresh task head on top of ``encoder`` (hub id or folder)."""
    import transformers

    auto = getattr(transformers, registry.AUTO_MODEL[task.format])
    return auto.from_pretrained(encoder, **formats.get(task.format).model_kwargs(task), **kwargs)


def _batching(hp: dict, micro_batch: int | None) -> tuple[int, int]:
    """(per-device batch, gradient accumulation) keeping the effective batch at the paper's."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    micro = min(hp["batch_size"], micro_batch or hp["batch_size"])
    accum = max(1, hp["batch_size"] // (micro * world))
    if micro * accum * world != hp["batch_size"]:
        log.warning(
            "effective batch %d (micro %d x accum %d x %d processes) differs from batch_size %d",
            micro * accum * world,
            micro,
            accum,
            world,
            hp["batch_size"],
        )
    return micro, accum


def training_arguments(
    hp: dict,
    out: Path,
    seed: int,
    select: bool,
    fmt,
    micro_batch=None,
    deepspeed: str | None = None,
):
    import torch
    from transformers import TrainingArguments

    micro, accum = _batching(hp, micro_batch)
    cuda = torch.cuda.is_available()
    metric = "accuracy" if fmt.selection_metric else "loss"
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=micro,
        per_device_eval_batch_size=micro * 2,
        gradient_accumulation_steps=accum,
        learning_rate=hp["learning_rate"],
        num_train_epochs=hp["epochs"],
        max_steps=hp["max_steps"],
        warmup_steps=hp["warmup_ratio"],
        weight_decay=hp["weight_decay"],
        max_grad_norm=hp["max_grad_norm"],
        adam_epsilon=hp["adam_epsilon"],
        lr_scheduler_type="linear",
        eval_strategy="steps" if select else "no",
        eval_steps=hp["eval_steps"],
        save_strategy="steps",
        save_steps=hp["eval_steps"],
        save_total_limit=2,
        load_best_model_at_end=select,
        metric_for_best_model=metric if select else None,
        greater_is_better=metric != "loss" if select else None,
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        seed=seed,
        data_seed=seed,
        use_cpu=not cuda,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        average_tokens_across_devices=False,
        deepspeed=deepspeed,
        logging_steps=max(1, min(50, hp["eval_steps"])),
        report_to=[],
        disable_tqdm=True,
    )


def resumable_checkpoint(folder: Path, fingerprint: str) -> str | None:
    """The last checkpoint in ``folder`` if it was written by this very job, else None.

    Checkpoints of a job with other inputs or parameters (a stale run) are deleted, never resumed.
    """
    from transformers.trainer_utils import get_last_checkpoint

    stamp = folder / "FINGERPRINT"
    if folder.is_dir() and (not stamp.is_file() or stamp.read_text() != fingerprint):
        log.warning("discarding checkpoints in %s: written by a different job", folder)
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    return get_last_checkpoint(str(folder))


def train(
    *,
    encoder: str,
    task_name: str,
    train_cache: Path,
    select_cache: Path | None,
    out_dir: Path,
    checkpoint_dir: Path,
    hp: dict,
    seed: int,
    encoder_only: bool,
    fingerprint: str,
    micro_batch: int | None = None,
    deepspeed: str | None = None,
) -> dict:
    """Train ``task_name`` on top of ``encoder``; save to ``out_dir``; return a summary."""
    import datasets
    from transformers import AutoTokenizer, EarlyStoppingCallback, Trainer, set_seed

    set_seed(seed)
    task = registry.get(task_name)
    fmt = formats.get(task.format)
    tokenizer = AutoTokenizer.from_pretrained(encoder)
    train_ds = datasets.load_from_disk(str(train_cache))["train.en"]
    if hp.get("max_train_examples"):
        train_ds = train_ds.shuffle(seed=seed).select(
            range(min(len(train_ds), hp["max_train_examples"]))
        )
    select_ds = None
    if select_cache is not None:
        cached = datasets.load_from_disk(str(select_cache))
        select_ds = cached.get(features.SELECTION)
    resume = resumable_checkpoint(checkpoint_dir, fingerprint)
    model = load_model(encoder, task)
    args = training_arguments(
        hp, checkpoint_dir, seed, select_ds is not None, fmt, micro_batch, deepspeed
    )
    callbacks = []
    if select_ds is not None:
        callbacks.append(EarlyStoppingCallback(hp["early_stopping_patience"]))
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=select_ds,
        processing_class=tokenizer,
        data_collator=fmt.collator(tokenizer),
        compute_metrics=fmt.selection_metric if select_ds is not None else None,
        callbacks=callbacks,
    )
    if resume:
        log.info("resuming from checkpoint %s", resume)
    result = trainer.train(resume_from_checkpoint=resume)
    if trainer.is_world_process_zero():
        to_save = trainer.model.base_model if encoder_only else trainer.model
        if encoder_only:  # the encoder carries no trace of the intermediate task's head
            to_save.config.num_labels = 2  # resets id2label / label2id to neutral names
            to_save.config.problem_type = None
        to_save.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return {
        "resumed_from": resume,
        "global_step": trainer.state.global_step,
        "train_loss": result.training_loss,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_metric": trainer.state.best_metric,
        "train_examples": len(train_ds),
        "train_tokens": int(sum(train_ds["length"])),
        "train_runtime_s": result.metrics.get("train_runtime"),
        "log_history": trainer.state.log_history,
    }
