"""Fine-tune an encoder on one task with ``transformers.Trainer`` (both phases of the study).

The head comes from the task's format and is always new: only the encoder carries over from the
intermediate phase. An intermediate run saves the encoder alone; a target run saves the whole
model for evaluation. Checkpoints go to their own folder, and a re-run resumes from the last
complete one, reproducing the uninterrupted run: optimizer, scheduler, RNG and (through a
length-grouped sampler seeded per epoch) the order of the batches are restored. The job's
time limit, SIGTERM and SIGUSR1 save a checkpoint and stop the job (``xstilts.preemption``).

:func:`fit` is the one training driver, shared with multi-task training (which supplies its own
model, batches and sampler): arguments, resuming, signals and time limit, saving the model in
fp32 (from the master weights under DeepSpeed), checkpoint clean-up and the training loss.
Only the newest complete checkpoint is kept (plus the best one while selection needs it).

Under ``torchrun`` or the ``deepspeed`` launcher every process runs :func:`train`; only the
first one writes the model and manages the checkpoint folder.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import shutil
from pathlib import Path

from xstilts import curves, device, features, formats, hub, preemption, sampling
from xstilts.errors import ConfigError
from xstilts.hparams import HParams
from xstilts.models import load_model
from xstilts.prepare import resolve

log = logging.getLogger(__name__)


def _batching(hp: HParams, micro_batch: int | None) -> tuple[int, int]:
    """(per-device batch, gradient accumulation) keeping the effective batch at the paper's:
    micro x accumulation x processes = batch_size, whatever the number of processes (GPUs)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_process = max(1, hp.batch_size // world)
    micro = min(per_process, micro_batch or per_process)
    accum = max(1, per_process // micro)
    if micro * accum * world != hp.batch_size:
        log.warning(
            "effective batch %d (micro %d x accum %d x %d processes) differs from batch_size %d",
            micro * accum * world,
            micro,
            accum,
            world,
            hp.batch_size,
        )
    return micro, accum


def checkpoint_steps(hp: HParams, select: bool) -> int:
    """Steps between checkpoints: ``checkpoint_steps``, else ``eval_steps``.

    With a selection set the best checkpoint must be an evaluated one, so (as the Trainer
    requires) checkpoints then fall on a multiple of ``eval_steps``.
    """
    steps = hp.checkpoint_steps or hp.eval_steps
    if select and steps % hp.eval_steps:
        raise ConfigError(
            f"checkpoint_steps ({steps}) must be a multiple of eval_steps ({hp.eval_steps})"
            " when a selection set picks the best checkpoint"
        )
    return steps


def training_arguments(
    hp: HParams,
    out: Path,
    seed: int,
    select: bool,
    fmt,
    micro_batch=None,
    deepspeed: str | None = None,
    placement=None,
):
    from transformers import TrainingArguments

    micro, accum = _batching(hp, micro_batch)
    placement = placement or device.select()
    metric = "accuracy" if fmt is not None and fmt.selection_metric else "loss"
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=micro,
        per_device_eval_batch_size=micro * 2,
        gradient_accumulation_steps=accum,
        learning_rate=hp.learning_rate,
        num_train_epochs=hp.epochs,
        max_steps=hp.max_steps,
        warmup_steps=hp.warmup_ratio,
        weight_decay=hp.weight_decay,
        max_grad_norm=hp.max_grad_norm,
        adam_epsilon=hp.adam_epsilon,
        lr_scheduler_type="linear",
        eval_strategy="steps" if select else "no",
        eval_steps=hp.eval_steps,
        save_strategy="steps",
        save_steps=checkpoint_steps(hp, select),
        save_total_limit=1,  # the newest, plus the best one while selection needs it
        load_best_model_at_end=select,
        metric_for_best_model=metric if select else None,
        greater_is_better=metric != "loss" if select else None,
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        seed=seed,
        data_seed=seed,
        use_cpu=not placement.cuda,
        bf16=placement.bf16,
        average_tokens_across_devices=False,
        deepspeed=deepspeed,
        optim="adamw_torch_fused",  # the default here, pinned: one fused kernel per step
        dataloader_num_workers=hp.dataloader_workers,
        torch_compile=hp.torch_compile and placement.cuda,
        logging_steps=max(1, min(50, hp.eval_steps)),
        report_to=[],
        disable_tqdm=True,
    )


_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
_WEIGHTS = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def incomplete(checkpoint: Path) -> str | None:
    """Why the Trainer checkpoint folder ``checkpoint`` cannot be resumed from (None: it can).

    The Trainer (transformers 5.23 ``_save_checkpoint``) writes straight into ``checkpoint-N``,
    not to a temporary name: weights, then optimizer and scheduler (or DeepSpeed's
    ``global_stepN`` folder and ``latest`` tag), then RNG states, and ``trainer_state.json`` last.
    A save that was killed half-way leaves a folder that looks like a checkpoint, so the folder
    is accepted only when every part is present and the trainer state parses and names step N.
    """
    match = _CHECKPOINT.match(checkpoint.name)
    if not match or not checkpoint.is_dir():
        return "not a checkpoint folder"
    state_file = checkpoint / "trainer_state.json"
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError) as e:
        return f"trainer_state.json unreadable ({e.__class__.__name__})"
    if state.get("global_step") != int(match.group(1)):
        return f"trainer_state.json is at step {state.get('global_step')}, not {match.group(1)}"
    latest = checkpoint / "latest"  # DeepSpeed: model, optimizer and scheduler in global_stepN/
    if latest.is_file():
        tag = checkpoint / latest.read_text().strip()
        if not tag.is_dir() or not any(tag.glob("*optim_states.pt")):
            return f"DeepSpeed checkpoint {tag.name} incomplete"
    else:
        if not any((checkpoint / w).is_file() for w in _WEIGHTS):
            return "no model weights"
        for part in ("optimizer.pt", "scheduler.pt"):
            if not (checkpoint / part).is_file():
                return f"no {part}"
    if not any(checkpoint.glob("rng_state*.pth")):
        return "no RNG state"
    return None


def resumable_checkpoint(folder: Path, fingerprint: str) -> str | None:
    """The last complete checkpoint in ``folder`` if it was written by this very job, else None.

    Checkpoints of a job with other inputs or parameters (a stale run) are deleted, never resumed;
    so are incomplete ones (a save that was killed), and the previous checkpoint is used instead.
    In a distributed job call it on the main process first (``main_process_first``).
    """
    stamp = folder / "FINGERPRINT"
    if folder.is_dir() and (not stamp.is_file() or stamp.read_text() != fingerprint):
        log.warning("discarding checkpoints in %s: written by a different job", folder)
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _CHECKPOINT.match(p.name))]
    for _, checkpoint in sorted(found, reverse=True):
        reason = incomplete(checkpoint)
        if reason is None:
            return str(checkpoint)
        log.warning("discarding incomplete checkpoint %s: %s", checkpoint, reason)
        shutil.rmtree(checkpoint, ignore_errors=True)
    return None


def checkpoint_step(checkpoint: str) -> int:
    return json.loads((Path(checkpoint) / "trainer_state.json").read_text())["global_step"]


def _seeded_trainer_class():
    """``Trainer`` whose length-grouped sampler draws each epoch's order from ``data_seed + epoch``.

    transformers' ``LengthGroupedSampler`` draws from the global torch RNG, whose state at the
    start of an epoch depends on everything that ran before (model init, dropout); a resumed run
    would shuffle its first epoch differently. Seeded per epoch, a resumed run skips exactly the
    batches the interrupted one saw and then sees the same ones, on every process alike.
    """
    from transformers import Trainer
    from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices

    class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
        def __init__(self, *args, seed: int = 0, **kwargs):
            super().__init__(*args, **kwargs)
            self.seed, self.epoch = seed, 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __iter__(self):
            import torch

            rng = torch.Generator().manual_seed(self.seed + self.epoch)
            return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=rng))

    class SeededTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            sampler = super()._get_train_sampler(train_dataset)
            if type(sampler) is LengthGroupedSampler:
                seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
                sampler = EpochSeededLengthGroupedSampler(
                    sampler.batch_size, lengths=sampler.lengths, seed=seed
                )
            return sampler

    return SeededTrainer


def _log_last_step():
    """A callback that logs the loss at the last step and at every checkpoint too, so that
    ``log_history`` covers every step, also after a resume from a checkpoint (the loss of steps
    after a checkpoint's last log would be lost when the job is killed without a final log)."""
    from transformers import TrainerCallback

    class LogLastStep(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps or control.should_save:
                control.should_log = True
            return control

    return LogLastStep()


def _fp32_state_dict(trainer, module) -> dict | None:
    """``module``'s weights in fp32: under DeepSpeed from the optimizer's fp32 master weights
    (the module itself holds bf16 copies, and under ZeRO-3 only its shard), else None (the module
    is already fp32). Every process must call it: gathering the weights is collective."""
    if not trainer.is_deepspeed_enabled:
        return None
    from deepspeed.utils import safe_get_full_fp32_param

    full = {id(p): safe_get_full_fp32_param(p) for p in trainer.model.parameters()}
    params = dict(module.named_parameters(remove_duplicate=False))
    state = {}
    for name, value in module.state_dict(keep_vars=True).items():
        p = params.get(name)
        state[name] = full[id(p)] if p is not None and full.get(id(p)) is not None else value
    return {k: v.detach().cpu() for k, v in state.items()}


def fit(
    *,
    encoder: str,
    args,
    build_model,
    trainer_class,
    trainer_kwargs: dict,
    checkpoint_dir: Path,
    fingerprint: str,
    deepspeed: str | None,
    out_dir: Path,
    to_save,
    tokenizer,
    callbacks: list = (),
    mean_tokens: float | None = None,
) -> tuple:
    """Train with ``trainer_class`` (resuming this job's last checkpoint), save
    ``to_save(trainer)`` in fp32, the tokenizer and ``encoder``'s pooling files to ``out_dir``,
    delete the checkpoints.

    ``build_model()`` is called once the process group is up (ZeRO-3 builds the model
    partitioned); ``to_save(trainer)`` names the module to save, and may adjust its config.
    ``mean_tokens``: a training example's mean length, for the progress lines' tokens per
    second (default: from the ``length`` column of ``trainer_kwargs["train_dataset"]``).
    Returns ``(trainer, summary)``, the summary holding what every training job reports.
    """
    with args.main_process_first(local=False, desc="checkpoint folder"):
        resume = resumable_checkpoint(checkpoint_dir, fingerprint)
    if deepspeed:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            import deepspeed as ds  # ZeRO-3 builds the model partitioned (deepspeed.zero.Init),

            # which reads the world size from DeepSpeed's own comm layer: attach it to the group
            ds.init_distributed()
    model = build_model()
    gc.freeze()  # what the imports created lives as long as the job: out of every collection
    gc.enable()  # (the command disabled it while they ran)
    with preemption.watch() as signals:
        stop = preemption.PreemptionCallback(signals, preemption.Deadline.of_this_job())
        trainer = trainer_class(
            model=model,
            args=args,
            processing_class=tokenizer,
            callbacks=[
                stop,
                _log_last_step(),
                *callbacks,
                curves.callback(  # beside the checkpoints until the job ends: a resume goes on
                    checkpoint_dir,  # with it, and a killed job leaves no output folder
                    mean_tokens or curves.mean_length(trainer_kwargs.get("train_dataset")),
                ),
                *preemption.StepDelay.from_environment(),
            ],
            **trainer_kwargs,
        )
        log.info(
            "training on %d process(es): micro-batch %d x accumulation %d x %d = batch %d"
            " (%s, bf16 %s)",
            args.world_size,
            args.per_device_train_batch_size,
            args.gradient_accumulation_steps,
            args.world_size,
            args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size,
            device.select().device,
            args.bf16,
        )
        if resume:
            log.info("resuming from checkpoint %s (step %d)", resume, checkpoint_step(resume))
        result = trainer.train(resume_from_checkpoint=resume)  # raises Preempted on a signal
    # every process loads the best checkpoint at the end of train(): none may still be reading
    # it when the main process deletes the checkpoints below
    trainer.accelerator.wait_for_everyone()
    module = to_save(trainer)
    state = _fp32_state_dict(trainer, module)  # collective: every process takes part
    if trainer.is_world_process_zero():
        module.save_pretrained(out_dir, state_dict=state)
        tokenizer.save_pretrained(out_dir)
        _keep_pooling(Path(encoder), out_dir)
        curves.keep(checkpoint_dir, out_dir)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
    summary = {
        "resumed_from": resume,
        "global_step": trainer.state.global_step,
        "train_loss": mean_train_loss(trainer.state.log_history),
        "world_size": args.world_size,
        "train_batch_size": args.per_device_train_batch_size
        * args.gradient_accumulation_steps
        * args.world_size,
        "train_runtime_s": result.metrics.get("train_runtime"),
        "log_history": trainer.state.log_history,
        "curves": curves.FILE,
    }
    return trainer, summary


def mean_train_loss(log_history: list[dict]) -> float | None:
    """Mean training loss over every step, from the logged losses (each the mean since the
    previous log). Unlike ``TrainOutput.training_loss`` (this call's steps only) it is the same
    for a resumed run as for an uninterrupted one."""
    total, steps, last = 0.0, 0, 0
    for entry in log_history:
        if "loss" in entry and entry["step"] > last:
            total += entry["loss"] * (entry["step"] - last)
            steps += entry["step"] - last
            last = entry["step"]
    return total / steps if steps else None


def language_plan(sizes: dict[str, int], hp: HParams, seed: int) -> dict[str, list[int]] | None:
    """The examples (indices per language) a mixed translate-train variant trains on; None for
    a single language, and for every example of each language in proportion (no budget, no cap).

    The total is the budget (``max_train_examples``, else ``max_steps`` x ``batch_size``), else
    the capped sizes' sum; each language's share follows the multi-task sampler
    (``language_sampling``, ``language_temperature``, ``language_cap``, from the config's
    ``multitask`` block), its examples drawn in seeded passes (:func:`sampling.draw`).
    """
    how, cap = hp.language_sampling, hp.language_cap
    steps = hp.max_steps
    total = hp.max_train_examples or (steps * hp.batch_size if steps > 0 else None)
    if len(sizes) < 2 or (how == "proportional" and not cap and not total):
        return None
    probs = sampling.probabilities(sizes, how, hp.language_temperature, cap)
    total = total or sum(min(n, cap) if cap else n for n in sizes.values())
    counts = sampling.language_counts(probs, total)
    return {lang: sampling.draw(n, counts[lang], f"{seed}:{lang}") for lang, n in sizes.items()}


def _keep_pooling(encoder: Path, out_dir: Path) -> None:
    """Carry a sentence-transformers model's pooling files (how it was trained to embed) on to
    the trained encoder, so retrieval from it pools the same way."""
    for name in hub.POOLING_FILES:
        if (encoder / name).is_file():
            (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(encoder / name, out_dir / name)


def train(
    *,
    encoder: str,
    task_name: str,
    train_cache: Path,
    select_cache: Path | None,
    out_dir: Path,
    checkpoint_dir: Path,
    hp: HParams,
    seed: int,
    encoder_only: bool,
    fingerprint: str,
    micro_batch: int | None = None,
    deepspeed: str | None = None,
    placement=None,
) -> dict:
    """Train ``task_name`` on top of ``encoder``; save to ``out_dir``; return a summary.

    ``placement`` (:class:`xstilts.device.Placement`) overrides the device and precision
    :func:`xstilts.device.select` picks."""
    import datasets
    from transformers import EarlyStoppingCallback, set_seed

    from xstilts import tokenizer as tokenizers

    datasets.disable_caching()  # never write cache files into the inputs' folders
    set_seed(seed)
    placement = placement or device.select()
    task = resolve(task_name, train_cache)
    fmt = formats.get(task.format)
    tokenizer = tokenizers.load(encoder)
    splits = datasets.load_from_disk(str(train_cache))
    languages = {n.removeprefix("train."): splits[n] for n in splits if n.startswith("train.")}
    plan = language_plan({k: len(v) for k, v in languages.items()}, hp, seed)
    if plan is None:  # English, one translated language, or all languages' every example
        train_ds = datasets.concatenate_datasets(list(languages.values()))
        if hp.max_train_examples:
            train_ds = train_ds.shuffle(seed=seed).select(
                range(min(len(train_ds), hp.max_train_examples))
            )
    else:
        train_ds = datasets.concatenate_datasets(
            [languages[lang].select(rows) for lang, rows in plan.items()]
        )
    used = {lang: len(rows) for lang, rows in (plan or languages).items()}
    select_ds = None
    if select_cache is not None:
        cached = datasets.load_from_disk(str(select_cache))
        select_ds = cached.get(features.SELECTION)
    args = training_arguments(
        hp, checkpoint_dir, seed, select_ds is not None, fmt, micro_batch, deepspeed, placement
    )  # sets up the process group under torchrun / deepspeed

    def to_save(trainer):
        if not encoder_only:
            return trainer.model
        encoder = trainer.model.base_model  # carries no trace of the intermediate task's head:
        encoder.config.num_labels = 2  # resets id2label / label2id to neutral names
        encoder.config.problem_type = None
        return encoder

    callbacks = []
    if select_ds is not None:
        callbacks.append(EarlyStoppingCallback(hp.early_stopping_patience))
    trainer, summary = fit(
        encoder=encoder,
        args=args,
        build_model=lambda: load_model(encoder, task),
        trainer_class=_seeded_trainer_class(),
        trainer_kwargs=dict(
            train_dataset=train_ds,
            eval_dataset=select_ds,
            data_collator=fmt.collator(tokenizer, placement.pad_multiple),
            compute_metrics=fmt.selection_metric if select_ds is not None else None,
        ),
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        deepspeed=deepspeed,
        out_dir=out_dir,
        to_save=to_save,
        tokenizer=tokenizer,
        callbacks=callbacks,
    )
    return {
        **summary,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_metric": trainer.state.best_metric,
        "train_examples": len(train_ds),
        "encoder_commit": getattr(trainer.model.config, "_commit_hash", None),  # hub revision
        "train_tokens": int(sum(train_ds["length"])),
        **({"languages": used} if len(used) > 1 else {}),  # examples per language, if mixed
    }
