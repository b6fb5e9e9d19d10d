"""Multi-task intermediate training: the sampler's frequencies, and a real shared-encoder run."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch
from conftest import tiny_hparams

from xstilts import curves, features, models, multitask, train
from xstilts.prepare import prepare, resolve

SIZES = {"mnli": 8000, "qqp": 2000, "ccg": 500}


@pytest.mark.parametrize("sampling", ["proportional", "uniform", "temperature"])
def test_draw_frequencies_match_configured_probabilities(sampling):
    probs = multitask.probabilities(SIZES, sampling, temperature=2.0)
    expected = {
        "proportional": {"mnli": 0.76190, "qqp": 0.19048, "ccg": 0.04762},  # n / 10500
        "uniform": {"mnli": 1 / 3, "qqp": 1 / 3, "ccg": 1 / 3},
        # sqrt(n): 89.443, 44.721, 22.361 -> / 156.525
        "temperature": {"mnli": 0.57143, "qqp": 0.28571, "ccg": 0.14286},
    }[sampling]
    assert probs == pytest.approx(expected, abs=1e-4)
    n = 20000
    drawn = Counter(task for task, _ in multitask.schedule(SIZES, probs, 4, n, seed=3))
    # binomial sd <= sqrt(0.25 / 20000) = 0.0035: a 0.015 tolerance is over 4 sd
    for task, p in probs.items():
        assert drawn[task] / n == pytest.approx(p, abs=0.015)


def test_cap_limits_a_task_share():
    probs = multitask.probabilities(SIZES, "proportional", cap=1000)
    # capped sizes 1000, 1000, 500 -> 0.4, 0.4, 0.2: no task weighs more than its cap
    assert probs == pytest.approx({"mnli": 0.4, "qqp": 0.4, "ccg": 0.2})
    drawn = Counter(t for t, _ in multitask.schedule(SIZES, probs, 4, 10000, seed=0))
    assert drawn["mnli"] / 10000 == pytest.approx(0.4, abs=0.02)
    assert multitask.mixture(SIZES | {"mlm": 10**6}, 0.25)["mlm"] == 0.25


def test_schedule_cycles_through_every_example_before_repeating():
    plan = multitask.schedule({"a": 10}, {"a": 1.0}, 5, 4, seed=1)
    first_pass = plan[0][1] + plan[1][1]
    assert sorted(first_pass) == list(range(10))
    assert plan == multitask.schedule({"a": 10}, {"a": 1.0}, 5, 4, seed=1)  # seeded


def test_bad_sampling_is_named():
    with pytest.raises(ValueError, match="multitask.sampling"):
        multitask.probabilities(SIZES, "greedy")


def test_shared_encoder_trains_on_three_formats_and_mlm(tiny_model, tmp_path, caplog):
    spec = {
        "source": "synthetic",
        "synthetic": {"train_size": 24, "eval_size": 4, "seed": 0},
        "max_eval_examples": None,
    }
    caches = {}
    for task in ("mnli", "squad_v1", "ccg"):
        prepare(task, spec, tmp_path / "data" / task)
        caches[task] = tmp_path / "cache" / task
        features.tokenize(str(tiny_model), tmp_path / "data" / task, task, 64, caches[task])
    assert json.loads((caches["ccg"] / "labels.json").read_text())  # inventory from the data
    hp = tiny_hparams(batch_size=4, max_steps=9, eval_steps=100)
    pooled = tmp_path / "pretrained"  # a sentence-transformers layout: its pooling files
    shutil.copytree(tiny_model, pooled)
    (pooled / "1_Pooling").mkdir()
    (pooled / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    (pooled / "modules.json").write_text("[]")
    out = tmp_path / "encoder"
    with caplog.at_level("INFO", logger="xstilts.curves"):
        info = multitask.train(
            encoder=str(pooled),
            caches=caches,
            out_dir=out,
            checkpoint_dir=tmp_path / "ckpt",
            hp=hp,
            seed=0,
            fingerprint="t",
            sampling={"sampling": "uniform"},
            mlm_corpus=["kaba rotu mise"] * 16,
            mlm_share=0.25,
        )
    assert info["global_step"] == 9 and sum(info["batches_drawn"].values()) == 9
    assert set(info["tasks"]) == {"mnli", "squad_v1", "ccg", "mlm"}
    assert (out / "1_Pooling" / "config.json").is_file() and (out / "modules.json").is_file()
    # its curves (the loss at the last step: logging_steps is 50) and a progress line
    records = curves.read(out / info["curves"])
    assert [r["step"] for r in records if "loss" in r] == [9]
    progress = [r.getMessage() for r in caplog.records if "progress:" in r.getMessage()]
    assert progress[-1].startswith("progress: step 9/9 (100%) loss ") and "n/a" not in progress[-1]
    # the saved encoder is a bare encoder that moved away from the pretrained one
    saved = models.load_model(str(out), resolve("mnli", caches["mnli"]))
    before = models.load_model(str(tiny_model), resolve("mnli", caches["mnli"]))
    key = "roberta.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(saved.state_dict()[key], before.state_dict()[key])
    assert json.loads((out / "config.json").read_text())["architectures"] == ["XLMRobertaModel"]


# Runs multitask.train in a fresh process (as `xstilts train --multitask` does); the job is slowed
# by the XSTILTS_TEST_STEP_DELAY hook so that signals land mid-training.
RUNNER = """
import json, logging, sys
from pathlib import Path
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
from xstilts import multitask
from xstilts.hparams import HParams
a = json.loads(sys.argv[1])
info = multitask.train(**{**a, "caches": {k: Path(v) for k, v in a["caches"].items()},
    "hp": HParams.from_json(a["hp"]),
    "out_dir": Path(a["out_dir"]), "checkpoint_dir": Path(a["checkpoint_dir"])})
Path(a["out_dir"], "summary.json").write_text(json.dumps(info))
"""
KILL_HP = tiny_hparams(batch_size=4, max_steps=48, eval_steps=100, checkpoint_steps=4)


def _latest_step(folder) -> int:
    steps = [train.checkpoint_step(str(p)) for p in folder.glob("checkpoint-*")
             if train.incomplete(p) is None]  # fmt: skip
    return max(steps, default=0)


def test_multitask_killed_ten_times_resumes_to_the_uninterrupted_weights(tiny_model, tmp_path):
    """SIGKILL, SIGTERM and SIGUSR1 at random steps, each but the first during a resumed run:
    the job ends with the weights and loss of an uninterrupted run."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    from safetensors.torch import load_file

    from xstilts import preemption

    spec = {
        "source": "synthetic",
        "synthetic": {"train_size": 24, "eval_size": 4, "seed": 0},
        "max_eval_examples": None,
    }
    caches = {}
    for task in ("mnli", "squad_v1"):
        prepare(task, spec, tmp_path / "data" / task)
        caches[task] = str(tmp_path / "cache" / task)
        features.tokenize(str(tiny_model), tmp_path / "data" / task, task, 64, caches[task])
    job = dict(
        encoder=str(tiny_model),
        caches=caches,
        hp=KILL_HP,
        seed=0,
        fingerprint="job",
        sampling={"sampling": "proportional"},
        mlm_corpus=["kaba rotu mise"] * 16,
        mlm_share=0.25,
    )
    ref_out = tmp_path / "ref"
    ref = multitask.train(
        **{**job, "caches": {k: Path(v) for k, v in caches.items()}},
        out_dir=ref_out,
        checkpoint_dir=tmp_path / "ref-ckpt",
    )
    assert ref["global_step"] == 48 and not (tmp_path / "ref-ckpt").exists()

    run = tmp_path / "job"
    run.mkdir()
    (run / "runner.py").write_text(RUNNER)
    ckpt, out = run / "ckpt", run / "encoder"
    paths = {"out_dir": str(out), "checkpoint_dir": str(ckpt)}
    arg = json.dumps({**job, "hp": KILL_HP.to_json(), **paths})
    env = dict(os.environ, XSTILTS_TEST_STEP_DELAY="0.1")
    rng = random.Random(7)
    kinds = [signal.SIGKILL, signal.SIGTERM, signal.SIGUSR1] * 3 + [signal.SIGKILL]
    resumed = []
    for i, sig in enumerate(kinds):
        log = run / f"run{i}.log"
        before = _latest_step(ckpt) if ckpt.exists() else 0
        proc = subprocess.Popen(
            [sys.executable, str(run / "runner.py"), arg], stdout=log.open("w"),
            stderr=subprocess.STDOUT, env=env, cwd=run,
        )  # fmt: skip
        end = time.monotonic() + 120
        while not (ckpt.exists() and _latest_step(ckpt) > before):  # progress: a new checkpoint
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < end, log.read_text()
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 0.3))  # a random step past it
        proc.send_signal(sig)
        rc = proc.wait(timeout=120)
        text = log.read_text()
        expected = -signal.SIGKILL if sig == signal.SIGKILL else preemption.EXIT_PREEMPTED
        assert rc == expected, (sig, text[-3000:])
        assert not out.exists()
        if i:
            assert f"resuming from checkpoint {ckpt}/checkpoint-" in text, text[-3000:]
            resumed.append(int(text.split(f"{ckpt}/checkpoint-")[1].split()[0]))
    assert resumed == sorted(resumed) and len(set(resumed)) == len(resumed), resumed
    log = run / "last.log"
    proc = subprocess.run(
        [sys.executable, str(run / "runner.py"), arg], stdout=log.open("w"),
        stderr=subprocess.STDOUT, cwd=run, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, log.read_text()[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["global_step"] == 48 and summary["resumed_from"]
    assert not ckpt.exists()
    a, b = load_file(ref_out / "model.safetensors"), load_file(out / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), max((a[k] - b[k]).abs().max() for k in a)
    assert summary["train_loss"] == pytest.approx(ref["train_loss"], rel=1e-6)  # sum order
    assert {v.dtype for v in b.values()} == {torch.float32}
