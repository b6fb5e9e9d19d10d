"""A training job stopped by SIGTERM saves a checkpoint, exits 75, and its re-run resumes from that
checkpoint to the very result of an uninterrupted run (real Trainer runs on the tiny model)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import tiny_hparams

from xstilts import features, preemption, train
from xstilts.errors import ConfigError
from xstilts.hparams import HParams
from xstilts.prepare import prepare

HP = tiny_hparams(
    max_steps=40,  # 64 examples / 8 = 8 steps per epoch: 5 epochs, resumed mid-epoch
    eval_steps=10,
    checkpoint_steps=10,
)
SPEC = {
    "source": "synthetic",
    "synthetic": {"train_size": 64, "eval_size": 8, "seed": 0},
    "max_eval_examples": None,
}
SEED = 1

# Runs `xstilts train` (cli.main) in a fresh process; XSTILTS_TEST_STEP_DELAY slows every training
# step down (without changing any number) so that a signal lands mid-training on a fast machine.
RUNNER = """
import os, sys, time
import transformers
delay = float(os.environ.get("XSTILTS_TEST_STEP_DELAY", "0"))
step = transformers.Trainer.training_step
def slow(self, *args, **kwargs):
    time.sleep(delay)
    return step(self, *args, **kwargs)
transformers.Trainer.training_step = slow
from xstilts.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def mnli_cache(tiny_model, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("preemption-data")
    prepare("mnli", SPEC, root / "data")
    features.tokenize(str(tiny_model), root / "data", "mnli", 64, root / "cache")
    return root / "cache"


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def _losses(log_history: list[dict]) -> dict[int, float]:
    return {e["step"]: e["loss"] for e in log_history if "loss" in e}


def _cli(tiny_model, cache, run: Path, log: Path, delay: float) -> subprocess.Popen:
    script = run / "runner.py"
    script.write_text(RUNNER)
    cmd = [sys.executable, str(script), "train", "--encoder", str(tiny_model), "--task", "mnli"]
    cmd += ["--train-cache", str(cache), "--hparams", HP.to_json(), "--seed", str(SEED)]
    cmd += ["--checkpoints", str(run / "ckpt"), "--out", str(run / "model")]
    env = dict(os.environ, XSTILTS_TEST_STEP_DELAY=str(delay), TOKENIZERS_PARALLELISM="false")
    return subprocess.Popen(
        cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=run, text=True
    )


def _wait_for(path: Path, proc: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"training ended (rc {proc.returncode}) before {path}:\n{log.read_text()}")
        if time.monotonic() > end:
            proc.kill()
            pytest.fail(f"no {path} after {timeout} s:\n{log.read_text()}")
        time.sleep(0.05)


def test_sigterm_saves_checkpoint_and_rerun_resumes_to_uninterrupted_result(
    tiny_model, mnli_cache, tmp_path
):
    # the uninterrupted run of the same seed
    ref_out = tmp_path / "ref-model"
    ref = train.train(
        encoder=str(tiny_model),
        task_name="mnli",
        train_cache=mnli_cache,
        select_cache=None,
        out_dir=ref_out,
        checkpoint_dir=tmp_path / "ref-ckpt",
        hp=HP,
        seed=SEED,
        encoder_only=False,
        fingerprint="reference",
    )
    assert ref["global_step"] == 40 and ref["resumed_from"] is None

    # the same job through the CLI, sent SIGTERM once it has passed its first checkpoint
    run = tmp_path / "job"
    run.mkdir()
    ckpt = run / "ckpt"
    log1 = run / "first.log"
    proc = _cli(tiny_model, mnli_cache, run, log1, delay=0.1)
    _wait_for(ckpt / "checkpoint-10" / "trainer_state.json", proc, log1)
    time.sleep(0.3)  # a few steps past the checkpoint: the stop is not at a regular one
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=120)
    text = log1.read_text()
    assert rc == preemption.EXIT_PREEMPTED == 75, text
    assert not (run / "model").exists()  # no finished-looking output
    saved = sorted(int(p.name.split("-")[1]) for p in ckpt.glob("checkpoint-*"))
    stop = max(saved)
    assert 10 < stop < 40, (saved, text)
    assert stop % 10, "the stop should fall between regular checkpoints"
    assert f"saving a checkpoint at step {stop}" in text
    assert train.incomplete(ckpt / f"checkpoint-{stop}") is None

    # the re-run (same command, no delay) resumes from exactly that checkpoint
    log2 = run / "second.log"
    proc = _cli(tiny_model, mnli_cache, run, log2, delay=0)
    rc = proc.wait(timeout=300)
    text = log2.read_text()
    assert rc == 0, text
    assert f"resuming from checkpoint {ckpt}/checkpoint-{stop} (step {stop})" in text
    summary = json.loads((run / "model" / "manifest.json").read_text())["summary"]
    assert summary["resumed_from"] == str(ckpt / f"checkpoint-{stop}")
    assert summary["global_step"] == 40
    assert not ckpt.exists()  # removed once the model is saved

    # ... and ends where the uninterrupted run ended
    ref_losses, losses = _losses(ref["log_history"]), _losses(summary["log_history"])
    after = [s for s in ref_losses if s > stop + 10]  # log intervals untouched by the stop
    assert after and all(losses[s] == ref_losses[s] for s in after), (ref_losses, losses)
    assert summary["train_loss"] == pytest.approx(ref["train_loss"], rel=1e-6)
    assert stop in losses  # the interrupted run logged the loss of its last steps
    a, b = _weights(ref_out), _weights(run / "model")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), max((a[k] - b[k]).abs().max() for k in a)


def _fake_checkpoint(folder: Path, step: int, deepspeed: bool = False) -> Path:
    ck = folder / f"checkpoint-{step}"
    ck.mkdir(parents=True)
    if deepspeed:
        (ck / "latest").write_text(f"global_step{step}")
        (ck / f"global_step{step}").mkdir()
        (ck / f"global_step{step}" / "zero_pp_rank_0_mp_rank_00_optim_states.pt").touch()
        (ck / "rng_state_0.pth").touch()
    else:
        for name in ("model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth"):
            (ck / name).touch()
    (ck / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return ck


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda ck: (ck / "trainer_state.json").unlink(), "trainer_state.json unreadable"),
        (lambda ck: (ck / "trainer_state.json").write_text('{"global_st'), "unreadable"),
        (lambda ck: (ck / "optimizer.pt").unlink(), "no optimizer.pt"),
        (lambda ck: (ck / "scheduler.pt").unlink(), "no scheduler.pt"),
        (lambda ck: (ck / "model.safetensors").unlink(), "no model weights"),
        (lambda ck: (ck / "rng_state.pth").unlink(), "no RNG state"),
        (
            lambda ck: (ck / "trainer_state.json").write_text('{"global_step": 20}'),
            "not 30",
        ),
    ],
)
def test_a_half_written_checkpoint_is_discarded_for_the_previous_one(tmp_path, damage, reason):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "FINGERPRINT").write_text("job")
    good = _fake_checkpoint(folder, 20)
    bad = _fake_checkpoint(folder, 30)
    assert train.incomplete(bad) is None
    damage(bad)
    assert reason in train.incomplete(bad)
    assert train.resumable_checkpoint(folder, "job") == str(good)
    assert not bad.exists() and good.exists()


def test_deepspeed_checkpoints_are_validated_by_their_own_files(tmp_path):
    ck = _fake_checkpoint(tmp_path, 5, deepspeed=True)
    assert train.incomplete(ck) is None
    (ck / "global_step5" / "zero_pp_rank_0_mp_rank_00_optim_states.pt").unlink()
    assert "DeepSpeed checkpoint global_step5 incomplete" == train.incomplete(ck)
    shutil.rmtree(ck)
    assert train.resumable_checkpoint(tmp_path / "empty", "job") is None


def test_signal_watcher_records_the_signal_and_restores_handlers():
    before = signal.getsignal(signal.SIGUSR1)
    with preemption.watch() as watcher:
        assert watcher.received is None
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGTERM)  # a repeat (scancel + torchrun) changes nothing
        time.sleep(0.01)
        assert watcher.received == signal.SIGUSR1
    assert signal.getsignal(signal.SIGUSR1) == before


def test_callback_saves_and_stops_then_raises_exit_75_after_the_save():
    watcher = preemption.SignalWatcher()
    cb = preemption.PreemptionCallback(watcher)
    args = SimpleNamespace(device=torch.device("cpu"), output_dir="out")
    state = SimpleNamespace(global_step=7, max_steps=40)

    def control():
        return SimpleNamespace(should_save=False, should_training_stop=False, should_log=False)

    c = cb.on_step_end(args, state, control())
    assert not (c.should_save or c.should_training_stop)
    cb.on_save(args, state, c)  # a regular save: nothing happens

    watcher.received = signal.SIGTERM
    c = cb.on_step_end(args, state, control())
    assert c.should_save and c.should_training_stop and c.should_log
    with pytest.raises(preemption.Preempted) as e:
        cb.on_save(args, state, c)
    assert e.value.code == 75 and e.value.step == 7
    assert e.value.checkpoint == os.path.join("out", "checkpoint-7")
    assert "SIGTERM" in str(e.value)

    last = preemption.PreemptionCallback(watcher)  # a signal at the last step: training is done
    done = SimpleNamespace(global_step=40, max_steps=40)
    c = last.on_step_end(args, done, control())
    assert c.should_save
    last.on_save(args, done, c)  # no exception: the run completes and saves its model


def test_checkpoint_steps():
    assert train.checkpoint_steps(HParams(eval_steps=10), select=True) == 10
    assert train.checkpoint_steps(HParams(eval_steps=10, checkpoint_steps=30), select=True) == 30
    assert train.checkpoint_steps(HParams(eval_steps=10, checkpoint_steps=7), select=False) == 7
    with pytest.raises(ConfigError, match="multiple of eval_steps"):
        train.checkpoint_steps(HParams(eval_steps=10, checkpoint_steps=15), select=True)


def test_mean_train_loss_is_the_same_whatever_the_log_intervals():
    whole = [{"loss": 2.0, "step": 10}, {"loss": 1.0, "step": 20}]
    split = [{"loss": 2.0, "step": 10}, {"loss": 1.0, "step": 13}, {"loss": 1.0, "step": 20}]
    assert train.mean_train_loss(whole) == train.mean_train_loss(split) == 1.5
    assert train.mean_train_loss([]) is None


def test_batching_keeps_the_effective_batch(monkeypatch):
    for world, micro, expected in [(1, None, (32, 1)), (1, 8, (8, 4)), (4, None, (8, 1)),
                                   (4, 4, (4, 2)), (2, None, (16, 1))]:  # fmt: skip
        monkeypatch.setenv("WORLD_SIZE", str(world))
        m, accum = train._batching(HParams(batch_size=32), micro)
        assert (m, accum) == expected and m * accum * world == 32


def test_deadline_from_the_job_end_time():
    assert preemption.job_end_time({}) is None  # off SLURM: no deadline
    assert preemption.job_end_time({"SLURM_JOB_END_TIME": "1900000000"}) == 1.9e9
    d = preemption.Deadline(1000.0, 60)
    assert not d.due(now=939.0) and d.due(now=940.0)
    assert not preemption.Deadline(None, 60).due()


def test_training_stops_and_saves_before_the_time_limit(
    tiny_model, mnli_cache, tmp_path, monkeypatch
):
    """No signal: the job's end time alone makes it save a checkpoint and exit 75 in time."""
    start = time.time()
    # the allocation ends in 1 h 6 s, and the job must be gone 1 h before: ~6 s of training
    monkeypatch.setenv("SLURM_JOB_END_TIME", str(int(start + 3606)))
    monkeypatch.setenv("XSTILTS_SAVE_MARGIN_S", "3600")
    monkeypatch.setenv("XSTILTS_TEST_STEP_DELAY", "0.2")  # 40 steps: 8 s and more
    with pytest.raises(preemption.Preempted) as e:
        train.train(
            encoder=str(tiny_model), task_name="mnli", train_cache=mnli_cache, select_cache=None,
            out_dir=tmp_path / "model", checkpoint_dir=tmp_path / "ckpt", hp=HP, seed=SEED,
            encoder_only=False, fingerprint="deadline",
        )  # fmt: skip
    assert e.value.code == 75 and e.value.signum == 0 and "time limit" in str(e.value)
    assert 0 < e.value.step < 40 and time.time() < start + 3606 - 3590
    assert train.incomplete(Path(e.value.checkpoint)) is None
    assert not (tmp_path / "model").exists()
