"""Multi-task intermediate training: one shared encoder, one head per task, one task per batch.

Every task keeps its own Hugging Face head (the same classes single-task training uses) whose
encoder is replaced by a single shared one. The batch schedule is drawn up front from a seeded
generator: at each step a task is drawn with probability proportional to its training-set size
(optionally capped), uniformly, or with temperature ``T`` (p ~ n^(1/T)), and its next batch is
taken from a per-task shuffled cycle. A fixed schedule makes resumption exact: ``Trainer`` skips
the batches already seen. Optionally masked-language-model batches on a text corpus are mixed in
at a fixed share (the study's "multi-task + MLM" alternative). Only the encoder is saved.

Multi-task training supplies its model, its batches and its sampler; everything else (resuming,
signals and time limit, fp32 saving, checkpoint clean-up, the training loss) is
:func:`xstilts.train.fit`, the driver of single-task training.
"""

from __future__ import annotations

import logging
import math
import os
import random
from pathlib import Path

from xstilts import curves, device
from xstilts.hparams import HParams
from xstilts.loaders import DataFormatError
from xstilts.models import load_model
from xstilts.prepare import resolve
from xstilts.sampling import probabilities
from xstilts.train import _batching, fit, training_arguments

log = logging.getLogger(__name__)

MLM = "mlm"


def schedule(
    sizes: dict[str, int], probs: dict[str, float], batch_size: int, n_batches: int, seed: int
) -> list[tuple[str, list[int]]]:
    """``n_batches`` (task, example indices) pairs; each task cycles through reshuffled passes."""
    rng = random.Random(seed)
    tasks = sorted(probs)
    weights = [probs[t] for t in tasks]
    order: dict[str, list[int]] = {t: [] for t in tasks}
    out = []
    for _ in range(n_batches):
        task = rng.choices(tasks, weights)[0]
        while len(order[task]) < batch_size:  # next shuffled pass over the task's examples
            fresh = list(range(sizes[task]))
            rng.shuffle(fresh)
            order[task] += fresh
        out.append((task, order[task][:batch_size]))
        order[task] = order[task][batch_size:]
    return out


def mixture(sizes: dict[str, int], mlm_share: float, **sampling) -> dict[str, float]:
    """Task probabilities, with the MLM corpus taking a fixed share of the batches."""
    probs = probabilities({t: n for t, n in sizes.items() if t != MLM}, **sampling)
    if mlm_share <= 0:
        return probs
    return {**{t: p * (1 - mlm_share) for t, p in probs.items()}, MLM: mlm_share}


def _model_class():
    import torch

    class MultiTaskModel(torch.nn.Module):
        """A shared encoder and the heads of several task models built around it."""

        def __init__(self, encoder, task_models: dict):
            super().__init__()
            self.encoder = encoder
            self._task_models = task_models  # plain dict: parameters register once, below
            heads = {}
            for name, m in task_models.items():
                setattr(m, m.base_model_prefix, encoder)
                if name == MLM:
                    m.lm_head.decoder.weight = encoder.get_input_embeddings().weight
                heads[name] = torch.nn.ModuleDict(
                    {k: v for k, v in m.named_children() if k != m.base_model_prefix}
                )
            self.heads = torch.nn.ModuleDict(heads)

        def forward(self, task: str, **batch):
            batch.pop("num_items_in_batch", None)
            return self._task_models[task](**batch)

    return MultiTaskModel


class ScheduledBatches:
    """A map-style dataset whose items are whole, collated batches of the schedule.

    Batch ``i`` is collated under a torch RNG seeded with ``(seed, i)``: the MLM collator's
    random masking is then the same whenever the batch is drawn. (The Trainer fetches the first
    batch of a resumed run before it restores the RNG state of the checkpoint.)
    """

    def __init__(self, plan, datasets: dict, collators: dict, seed: int = 0):
        self.plan, self.datasets, self.collators, self.seed = plan, datasets, collators, seed

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, i: int) -> dict:
        import torch

        task, idxs = self.plan[i]
        cols = self.datasets[task][idxs]
        rows = [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed * 1_000_003 + i)
            return {**self.collators[task](rows), "task": task}


def _unique(state: dict) -> dict:
    """``state`` with each tensor once (tied weights under their first name)."""
    seen, unique = set(), {}
    for k, v in state.items():
        if v.data_ptr() not in seen:
            seen.add(v.data_ptr())
            unique[k] = v.contiguous()
    return unique


def _only(items: list):
    (item,) = items
    return item


def _trainer_class():
    import safetensors.torch
    from torch.utils.data import DataLoader
    from transformers import Trainer

    class MultiTaskTrainer(Trainer):
        """Trainer over a fixed batch schedule; checkpoints keep tied weights once."""

        def __init__(self, *args, batches: ScheduledBatches, **kwargs):
            super().__init__(*args, **kwargs)
            self.batches = batches

        def get_train_dataloader(self):
            # items are whole batches: one per step, unwrapped; a real batch sampler lets a
            # resumed run skip the batches already seen (accelerate.skip_first_batches)
            return DataLoader(self.batches, batch_size=1, shuffle=False, collate_fn=_only)

        def _save(self, output_dir=None, state_dict=None):
            output_dir = Path(output_dir or self.args.output_dir)
            output_dir.mkdir(parents=True, exist_ok=True)
            unique = _unique(state_dict or self.model.state_dict())
            safetensors.torch.save_file(
                unique, output_dir / "model.safetensors", metadata={"format": "pt"}
            )

        def _issue_warnings_after_load(self, load_result) -> None:
            """A resumed checkpoint lacks only the aliases of tied weights; anything else is
            an error, not a warning (the Trainer loads checkpoints non-strictly)."""
            state = self.model.state_dict()
            aliases = set(state) - set(_unique(state))
            if set(load_result.missing_keys) - aliases or load_result.unexpected_keys:
                raise RuntimeError(
                    f"checkpoint does not match the multi-task model: missing "
                    f"{sorted(set(load_result.missing_keys) - aliases)}, unexpected "
                    f"{load_result.unexpected_keys}"
                )

    return MultiTaskTrainer


def _mlm_dataset(tokenizer, corpus: list[str], max_length: int):
    import datasets

    datasets.disable_caching()  # never write cache files into inputs' folders

    enc = tokenizer(corpus, truncation=True, max_length=max_length)
    return datasets.Dataset.from_dict({"input_ids": enc["input_ids"]})


def train(
    *,
    encoder: str,
    caches: dict[str, Path],
    out_dir: Path,
    checkpoint_dir: Path,
    hp: HParams,
    seed: int,
    fingerprint: str,
    sampling: dict,
    mlm_corpus: list[str] | None = None,
    mlm_share: float = 0.0,
    micro_batch: int | None = None,
    deepspeed: str | None = None,
    placement=None,
) -> dict:
    """Train the shared encoder on every task in ``caches`` (+ MLM); save the encoder alone."""
    import datasets
    import torch

    datasets.disable_caching()  # never write cache files into inputs' folders
    from transformers import (
        AutoModel,
        AutoModelForMaskedLM,
        DataCollatorForLanguageModeling,
        set_seed,
    )

    from xstilts import formats
    from xstilts import tokenizer as tokenizers

    set_seed(seed)
    tokenizer = tokenizers.load(encoder)
    placement = placement or device.select()
    pad_multiple = placement.pad_multiple
    train_sets, collators, tasks, lengths = {}, {}, {}, {}
    for name, cache in caches.items():
        task = tasks[name] = resolve(name, cache)
        splits = datasets.load_from_disk(str(cache))
        train = datasets.concatenate_datasets([splits[s] for s in splits if s.startswith("train.")])
        lengths[name] = curves.mean_length(train)
        train_sets[name] = train.remove_columns("length")
        collators[name] = formats.get(task.format).collator(tokenizer, pad_multiple)
    if mlm_corpus:
        train_sets[MLM] = _mlm_dataset(tokenizer, mlm_corpus, hp.max_length)
        collators[MLM] = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    sizes = {t: len(ds) for t, ds in train_sets.items()}
    probs = mixture(sizes, mlm_share if mlm_corpus else 0.0, **sampling)
    micro, accum = _batching(hp, micro_batch)
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    per_epoch = sum(math.ceil(n / micro) for t, n in sizes.items() if t != MLM)
    steps = hp.max_steps if hp.max_steps > 0 else math.ceil(hp.epochs * per_epoch / accum)
    plan = schedule(sizes, probs, micro, steps * accum * world, seed)[rank::world]
    hp = hp.replace(max_steps=steps)
    args = training_arguments(
        hp, checkpoint_dir, seed, False, None, micro_batch, deepspeed, placement
    )  # sets up the process group under torchrun / deepspeed
    args.ddp_find_unused_parameters = True  # each batch uses one head only

    def build_model():
        models = {name: load_model(encoder, task) for name, task in tasks.items()}
        if mlm_corpus:
            models[MLM] = AutoModelForMaskedLM.from_pretrained(encoder, dtype=torch.float32)
        shared = AutoModel.from_pretrained(encoder, dtype=torch.float32)
        return _model_class()(shared, models)

    drawn = {t: sum(1 for task, _ in plan if task == t) for t in sizes}
    known = {t: length for t, length in lengths.items() if length and drawn[t]}  # MLM: unknown
    mean_tokens = (
        sum(drawn[t] * known[t] for t in known) / sum(drawn[t] for t in known) if known else None
    )
    _, summary = fit(
        encoder=encoder,
        args=args,
        build_model=build_model,
        trainer_class=_trainer_class(),
        trainer_kwargs=dict(batches=ScheduledBatches(plan, train_sets, collators, seed)),
        checkpoint_dir=checkpoint_dir,
        fingerprint=fingerprint,
        deepspeed=deepspeed,
        out_dir=out_dir,
        to_save=lambda trainer: trainer.model.encoder,
        tokenizer=tokenizer,
        mean_tokens=mean_tokens,
    )
    return {
        **summary,
        "tasks": sorted(sizes),
        "train_examples": sizes,
        "probabilities": probs,
        "batches_drawn": drawn,
    }


def corpus_lines(spec: dict, languages: list[str], seed: int) -> list[str]:
    """The MLM corpus: text files (one sentence per line) or the demo's synthetic corpus."""
    from xstilts import synthetic

    if spec["corpus"] == "synthetic":
        return list(synthetic.corpus(languages, spec["max_lines"] // max(1, len(languages)), seed))
    paths = sorted(Path().glob(spec["corpus"]))
    if not paths:
        raise DataFormatError(
            f"multitask.mlm.corpus {spec['corpus']!r} matches no file (expected text files, "
            "one sentence per line: Wikipedia or CC-100 text)"
        )
    lines: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            lines += [line.strip() for line in f if line.strip()][: spec["max_lines"] - len(lines)]
        if len(lines) >= spec["max_lines"]:
            break
    return lines
