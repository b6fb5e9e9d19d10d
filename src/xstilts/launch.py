"""Start ``xstilts train`` on every GPU of the job's allocation (or as one process on a CPU).

The training rules run ``python -m xstilts.launch --gpus G --zero-stage S [--command finetune] --
<arguments>``; the launcher imports no torch (GPUs are counted from the environment).
The choice is made where the job runs (a SLURM GPU node, or this CPU machine), not where
Snakemake plans it (a login node sees no GPU):

- GPUs visible (``CUDA_VISIBLE_DEVICES`` from SLURM): one process per GPU, at most ``G``, through
  ``torchrun --standalone --nproc_per_node N -m xstilts train ...`` with the repo's DeepSpeed
  config for stage ``S`` (``workflow/deepspeed/zero{2,3}.json``; stage 0: plain DDP). The configs
  leave precision ("auto": bf16 where the Trainer enables it), batch sizes, accumulation and
  clipping to the Trainer, and carry no optimizer or scheduler block: the Trainer builds AdamW and
  the linear schedule from the study's hyper-parameters (and DeepSpeed skips compiling its own
  Adam). The effective batch stays the paper's: ``train._batching`` makes
  micro-batch x accumulation x processes = batch_size.
- No GPU: ``xstilts train ...`` as a single process without DeepSpeed, or ``--cpu-processes N``
  gloo DDP processes under torchrun.

The launcher replaces itself with the command (``exec``), so SLURM's SIGTERM reaches torchrun
(which passes it on to every worker) or the training process directly. torchrun handles SIGTERM
but not SIGUSR1, whose default action would kill it; it is therefore started with SIGUSR1
ignored (inherited), and the workers, which install their own handler
(``xstilts.preemption``), save a checkpoint on SIGUSR1 sent to the job step.
``--save-margin-s`` tells every training process how long before the job's time limit to save
and exit (``XSTILTS_SAVE_MARGIN_S``): the time limit needs no signal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from importlib import resources

MARGIN_ENV = "XSTILTS_SAVE_MARGIN_S"  # read by xstilts.preemption.Deadline
DEEPSPEED_DIR = resources.files("xstilts.workflow") / "deepspeed"
DEEPSPEED_CONFIGS = {2: "zero2.json", 3: "zero3.json"}


def deepspeed_config(zero_stage: int | None) -> str | None:
    """The repo's DeepSpeed config for ``zero_stage`` (None for 0: plain DDP, no DeepSpeed)."""
    if not zero_stage:
        return None
    if zero_stage not in DEEPSPEED_CONFIGS:
        raise ValueError(
            f"no DeepSpeed config for ZeRO stage {zero_stage} "
            f"(have {sorted(DEEPSPEED_CONFIGS)}; 0 = plain DDP)"
        )
    return str(DEEPSPEED_DIR / DEEPSPEED_CONFIGS[zero_stage])


def command_prefix(nproc: int, torchrun: bool | None = None) -> list[str]:
    """``torchrun --standalone --nproc_per_node N -m xstilts`` for N > 1 (or when ``torchrun``
    is asked for: DeepSpeed needs its environment even on one GPU), else plain ``xstilts``."""
    if nproc < 1:
        raise ValueError(f"need at least one process, got {nproc}")
    if nproc > 1 or torchrun:
        return ["torchrun", "--standalone", f"--nproc_per_node={nproc}", "-m", "xstilts"]
    return ["xstilts"]


def plan(
    gpus: int, zero_stage: int, visible_gpus: int, cpu_processes: int = 1
) -> tuple[list[str], str | None]:
    """(command prefix, DeepSpeed config or None) for a job asking for ``gpus`` GPUs on a machine
    where ``visible_gpus`` are visible."""
    n = min(gpus, visible_gpus) if gpus > 0 else 0
    if n == 0:  # CPU: no DeepSpeed (its CPU path compiles ops and gains nothing here)
        return command_prefix(cpu_processes), None
    config = deepspeed_config(zero_stage)
    return command_prefix(n, torchrun=config is not None), config


def visible_gpus() -> int:
    """GPUs this job may use, counted without importing torch: ``CUDA_VISIBLE_DEVICES`` when set
    (SLURM sets it to the allocation; CUDA stops at the first entry that is not a device), else
    the GPUs ``nvidia-smi -L`` lists (none without the driver)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        n = 0
        for entry in env.split(","):
            entry = entry.strip()
            if not entry or entry.startswith("-"):
                break
            n += 1
        return n
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        out = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in out.splitlines())


def argv(
    gpus: int,
    zero_stage: int,
    train_args: list[str],
    cpu_processes: int = 1,
    command: str = "train",
    visible: int | None = None,
) -> list[str]:
    """The full command line that runs ``xstilts COMMAND`` (train or finetune) with
    ``train_args``. GPUs are only counted when the job asks for some."""
    if visible is None:
        visible = visible_gpus() if gpus > 0 else 0
    prefix, config = plan(gpus, zero_stage, visible, cpu_processes)
    out = [*prefix, command, *train_args]
    if config and "--deepspeed" not in train_args:
        out += ["--deepspeed", config]
    return out


def main(args: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m xstilts.launch", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--gpus", type=int, default=1, help="GPUs per training job (config: gpus)")
    ap.add_argument("--zero-stage", type=int, default=2, help="DeepSpeed ZeRO stage (0 = DDP)")
    ap.add_argument("--cpu-processes", type=int, default=1, help="gloo DDP processes on a CPU")
    ap.add_argument(
        "--save-margin-s",
        type=float,
        help="save and exit this many seconds before the SLURM job's time limit",
    )
    ap.add_argument(
        "--command", choices=("train", "finetune"), default="train", help="xstilts subcommand"
    )
    ap.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    ap.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then xstilts train arguments")
    ns = ap.parse_args(args)
    train_args = ns.train_args[1:] if ns.train_args[:1] == ["--"] else ns.train_args
    visible = visible_gpus() if ns.gpus > 0 else 0
    cmd = argv(ns.gpus, ns.zero_stage, train_args, ns.cpu_processes, ns.command, visible)
    print("xstilts.launch:", " ".join(cmd), file=sys.stderr, flush=True)
    if ns.dry_run:
        return
    if visible:  # a DS_ACCELERATOR=cpu inherited from a CPU shell would hide the GPUs
        os.environ["DS_ACCELERATOR"] = "cuda"
    else:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    if ns.save_margin_s is not None:  # read by every training process (xstilts.preemption)
        os.environ[MARGIN_ENV] = str(ns.save_margin_s)
    if cmd[0] == "torchrun":
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main()
