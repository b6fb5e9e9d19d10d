"""Stop a training job cleanly before SLURM ends it: save a checkpoint, exit non-zero.

Two triggers, checked at the end of every optimizer step:

- **The time limit** (:class:`Deadline`): the job knows when its allocation ends
  (``SLURM_JOB_END_TIME``, else ``squeue -j $SLURM_JOB_ID -o %e``) and stops
  ``XSTILTS_SAVE_MARGIN_S`` seconds before it (``cluster.save_margin_min``, passed on by the
  launcher). No signal is needed, so the save does not race against the kill of the job step.
- **A signal**: preemption or ``scancel`` (SIGTERM), SLURM's warning signal (SIGUSR1).

SLURM sends SIGTERM before it kills a job (``scancel``, time limit, preemption; SIGKILL follows
after ``KillWait``, 30 s by default) and, with ``--signal=USR1@<seconds>``, SIGUSR1 ahead of the
time limit. The signal handler only records the signal. At the end of the next optimizer step
:class:`PreemptionCallback` asks the Trainer to log and save a checkpoint; once the checkpoint is
on disk it raises :class:`Preempted`, a ``SystemExit`` with :data:`EXIT_PREEMPTED`.

Exit code 75 (``EX_TEMPFAIL`` of sysexits.h, "temporary failure, try again"): non-zero, so
Snakemake marks the job failed and ``--retries`` / ``--rerun-incomplete`` re-run it, and the re-run
resumes from the checkpoint; and distinct from 143/137 (128 + SIGTERM/SIGKILL), which the shell
reports when a process was killed *without* saving. Under ``torchrun`` every worker exits 75 and
torchrun itself reports 1: still a failure.

Across processes (DDP, DeepSpeed) the request is combined with an all-reduce at every step, so
all ranks save the same step and stop together even if the signal reached them at different
steps (a rank that stopped alone would leave the others waiting in a collective).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from datetime import datetime

from transformers import TrainerCallback

from xstilts.launch import MARGIN_ENV

log = logging.getLogger(__name__)

EXIT_PREEMPTED = 75
SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class Preempted(SystemExit):
    """Training stopped on a signal after saving a checkpoint; a re-run resumes from it."""

    def __init__(self, signum: int, step: int, checkpoint: str | None):
        super().__init__(EXIT_PREEMPTED)
        self.signum, self.step, self.checkpoint = signum, step, checkpoint

    def __str__(self) -> str:
        name = signal.Signals(self.signum).name if self.signum else "the time limit"
        return (
            f"stopped by {name}: checkpoint {self.checkpoint} saved at step {self.step}; "
            f"exiting with {EXIT_PREEMPTED} so that a re-run resumes from it"
        )


class SignalWatcher:
    """Records the first of ``signals``; later ones change nothing.

    Repeats are expected, not a reason to die at once: ``scancel`` signals every process of the
    job and torchrun passes its own SIGTERM on, so a worker gets SIGTERM twice. SIGKILL, after
    SLURM's ``KillWait``, is the hard stop.
    """

    def __init__(self, signals=SIGNALS):
        self.signals = tuple(signals)
        self.received: int | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum  # no logging here: handlers may interrupt a logging call

    def install(self) -> SignalWatcher:
        if threading.current_thread() is not threading.main_thread():
            log.warning("not in the main thread: preemption signals are not handled")
            return self
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()


@contextmanager
def watch(signals=SIGNALS):
    """Handle ``signals`` (record them) for the duration of the block."""
    watcher = SignalWatcher(signals).install()
    try:
        yield watcher
    finally:
        watcher.restore()


def _any_rank(flag: bool, device) -> bool:
    """True if ``flag`` is set on any process of the distributed job (or locally if none)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    import torch

    t = torch.tensor([int(flag)], dtype=torch.int32, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


DEFAULT_MARGIN_S = 15 * 60.0


def job_end_time(env=None) -> float | None:
    """When this SLURM job's allocation ends (seconds since the epoch), or None off SLURM.

    ``SLURM_JOB_END_TIME`` where SLURM sets it (23.02 and later); else the job's end time from
    ``squeue`` (local time). A requeued job is a fresh start: it asks again.
    """
    env = os.environ if env is None else env
    if env.get("SLURM_JOB_END_TIME", "").isdigit():
        return float(env["SLURM_JOB_END_TIME"])
    job = env.get("SLURM_JOB_ID")
    if not job:
        return None
    try:
        out = subprocess.run(
            ["squeue", "-h", "-j", job, "-o", "%e"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        return datetime.fromisoformat(out).timestamp()
    except (OSError, subprocess.SubprocessError, ValueError):
        log.warning("SLURM job %s: end time unknown; only signals stop training early", job)
        return None


class Deadline:
    """Due ``margin_s`` seconds before ``end`` (never when ``end`` is None)."""

    def __init__(self, end: float | None, margin_s: float):
        self.end, self.margin_s = end, margin_s

    @classmethod
    def of_this_job(cls) -> Deadline:
        margin = float(os.environ.get(MARGIN_ENV) or DEFAULT_MARGIN_S)
        end = job_end_time()
        if end is not None:
            log.info(
                "time limit in %.0f s: a checkpoint is saved %.0f s before it",
                end - time.time(),
                margin,
            )
        return cls(end, margin)

    def due(self, now: float | None = None) -> bool:
        return self.end is not None and (now or time.time()) >= self.end - self.margin_s


class PreemptionCallback(TrainerCallback):
    """Save and stop at the end of the step during which a signal arrived or the deadline came
    (on any rank)."""

    def __init__(self, watcher: SignalWatcher, deadline: Deadline | None = None):
        self.watcher = watcher
        self.deadline = deadline or Deadline(None, 0)
        self.stopping_at: int | None = None

    def on_step_end(self, args, state, control, **kwargs):
        stop = self.watcher.received is not None or self.deadline.due()
        if self.stopping_at is None and _any_rank(stop, args.device):
            self.stopping_at = state.global_step
            log.warning(
                "stop requested (%s): saving a checkpoint at step %d",
                f"signal {self.watcher.received}" if self.watcher.received else "time limit",
                state.global_step,
            )
            control.should_log = True  # the loss of the steps since the last log is not lost
            control.should_save = True
            control.should_training_stop = True
        return control

    def on_save(self, args, state, control, **kwargs):
        if self.stopping_at is not None and state.global_step == self.stopping_at:
            if state.global_step >= state.max_steps:  # the last step: training is complete
                return control
            checkpoint = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            raise Preempted(self.watcher.received or 0, state.global_step, checkpoint)
        return control


DELAY_ENV = "XSTILTS_TEST_STEP_DELAY"


class StepDelay(TrainerCallback):
    """Test hook: sleep ``XSTILTS_TEST_STEP_DELAY`` seconds after every step (changes no number),
    so that tests can make a job outlast its time limit or catch it mid-training."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    @classmethod
    def from_environment(cls) -> list:
        seconds = float(os.environ.get(DELAY_ENV) or 0)
        return [cls(seconds)] if seconds > 0 else []

    def on_step_end(self, args, state, control, **kwargs):
        time.sleep(self.seconds)
