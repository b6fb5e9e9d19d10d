"""One training job's hyper-parameters, typed: built by ``Study.hparams``, carried to the job as
JSON (``to_json`` / ``from_json``) and mapped to ``TrainingArguments`` by
``train.training_arguments``.

Each default is declared here once: jiant's XTREME recipe (REFERENCE.md), which a task's
registry entry (learning rate, epochs, batch size, length) and the config's ``hparams`` override.
The schema (``$defs/hparams``) checks the config's overrides and declares no default.
"""

from __future__ import annotations

import dataclasses
import json


@dataclasses.dataclass(frozen=True)
class HParams:
    learning_rate: float = 1e-5
    epochs: float = 3.0
    max_steps: int = -1  # -1: use epochs
    batch_size: int = 32  # effective batch
    max_length: int = 256
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    adam_epsilon: float = 1e-8
    eval_steps: int = 1000
    checkpoint_steps: int | None = None  # None: eval_steps
    early_stopping_patience: int = 30
    max_train_examples: int | None = None
    # a mixed translate-train variant's language sampler (the config's `multitask` block)
    language_sampling: str = "proportional"
    language_temperature: float = 2.0
    language_cap: int | None = None
    # the model's run-time settings (`models.<model>`)
    dataloader_workers: int = 0
    torch_compile: bool = False

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HParams:
        return cls(**json.loads(text))

    def replace(self, **changes) -> HParams:
        return dataclasses.replace(self, **changes)


RUNTIME_KEYS = ("dataloader_workers", "torch_compile")  # set per model, not per task
