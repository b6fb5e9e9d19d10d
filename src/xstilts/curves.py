"""A training job's curves and progress: what the Trainer logs, kept where people look.

Every training job (intermediate, before-target, fine-tuning, multi-task) writes
``curves.jsonl`` beside its checkpoints while it runs (a resumed attempt rewrites it from the
restored history and goes on; ``xstilts status`` reads a running job's step, total and speed
there) and copies it into its output folder when it ends. It holds a ``start`` record (total
steps), every logged entry of the Trainer's history (step, loss, learning rate, gradient norm;
each evaluation with its metric), and an ``end`` record (the selected checkpoint's step and
whether early stopping fired). Where ``tensorboard`` is installed (the ``tensorboard`` extra) the
same scalars go to TensorBoard event files in ``tensorboard/`` beside it.

The job's log gets one progress line per logging step (step, total, loss, tokens per second, the
job's own ETA); never a carriage-return progress bar.

This module imports no torch: ``xstilts status`` and the report read curve files through it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)

FILE = "curves.jsonl"
TENSORBOARD = "tensorboard"


def read(path: Path) -> list[dict]:
    """The records of a curve file; a last line cut off by a killed job is skipped."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def progress(records: list[dict]) -> dict:
    """Where a (running or finished) job stands: step, total, seconds per step, ETA in seconds."""
    start = next((r for r in records if r.get("event") == "start"), {})
    steps = [r for r in records if "step" in r and "time" in r and "event" not in r]
    out = {"step": steps[-1]["step"] if steps else 0, "total": start.get("max_steps")}
    if start and steps and steps[-1]["step"] > start["step"]:
        rate = (steps[-1]["time"] - start["time"]) / (steps[-1]["step"] - start["step"])
        out["s_per_step"] = rate
        if out["total"]:
            out["eta_s"] = max(0.0, (out["total"] - out["step"]) * rate)
    return out


def evaluations(records: list[dict]) -> list[dict]:
    """The evaluation records of a curve (not its start/stop events)."""
    return [r for r in records if any(k.startswith("eval_") for k in r) and "event" not in r]


def duration(seconds: float) -> str:
    """``h:mm:ss``."""
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def callback(out_dir: Path, mean_tokens: float | None):
    """The Trainer callback writing ``out_dir/curves.jsonl`` (TensorBoard events too, where
    installed) and the progress lines. ``mean_tokens``: the mean length of a training example,
    for tokens per second. Only the first process writes."""
    from transformers import TrainerCallback

    class Curves(TrainerCallback):
        def __init__(self):
            self.path = Path(out_dir) / FILE
            self.file = self.board = None
            self.t0 = self.step0 = None

        def _write(self, record: dict) -> None:
            self.file.write(json.dumps(record) + "\n")
            self.file.flush()

        def on_train_begin(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (closed at the end)
            self.t0, self.step0 = time.time(), state.global_step
            self._write(
                {
                    "event": "start",
                    "step": state.global_step,
                    "max_steps": state.max_steps,
                    "time": self.t0,
                }
            )
            for entry in state.log_history:  # a resumed job: what it logged before
                self._write(entry)
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # the optional extra is not installed
                return
            self.board = SummaryWriter(str(Path(out_dir) / TENSORBOARD))

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.file is None or not logs:
                return
            now = time.time()
            self._write({**logs, "step": state.global_step, "time": now})
            if self.board is not None:
                for key, value in logs.items():
                    if isinstance(value, (int, float)):
                        self.board.add_scalar(key, value, state.global_step)
            if "loss" in logs and state.global_step > self.step0:
                self._progress(args, state, logs["loss"], now)

        def _progress(self, args, state, loss, now):
            done = state.global_step - self.step0
            per_step = (now - self.t0) / done
            batch = args.per_device_train_batch_size * args.gradient_accumulation_steps
            tokens = batch * args.world_size * mean_tokens / per_step if mean_tokens else None
            log.info(
                "progress: step %d/%d (%.0f%%) loss %.4f tokens/s %s ETA %s",
                state.global_step,
                state.max_steps,
                100 * state.global_step / max(1, state.max_steps),
                loss,
                f"{tokens:.0f}" if tokens else "n/a",
                duration((state.max_steps - state.global_step) * per_step),
            )

        def on_train_end(self, args, state, control, **kwargs):
            if self.file is None:
                return
            best = state.best_model_checkpoint
            self._write(
                {
                    "event": "end",
                    "step": state.global_step,
                    "max_steps": state.max_steps,
                    "best_checkpoint": Path(best).name if best else None,
                    "best_step": int(best.rsplit("-", 1)[1]) if best else None,
                    "best_metric": state.best_metric,
                    "early_stop": state.global_step < state.max_steps,
                    "time": time.time(),
                }
            )
            self.file.close()
            self.file = None
            if self.board is not None:
                self.board.close()

    return Curves()


def mean_length(dataset) -> float | None:
    """The mean ``length`` of a training set's examples (None: it has no such column)."""
    names = getattr(dataset, "column_names", None) or []
    if "length" not in names or not len(dataset):
        return None
    lengths = dataset["length"]
    return sum(lengths) / len(lengths)


def keep(run_dir: Path, dest: Path) -> None:
    """Copy a run's curves (and TensorBoard events) from ``run_dir`` to ``dest``: a fine-tuning
    job's model folder is deleted unless kept, its predictions folder is not."""
    import shutil

    if (Path(run_dir) / FILE).is_file():
        shutil.copy2(Path(run_dir) / FILE, Path(dest) / FILE)
    if (Path(run_dir) / TENSORBOARD).is_dir():
        shutil.copytree(Path(run_dir) / TENSORBOARD, Path(dest) / TENSORBOARD, dirs_exist_ok=True)
