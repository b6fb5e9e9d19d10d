"""Training on several processes: the launcher's choices, and real two-process runs (gloo, CPU)
with plain DDP and with the repo's DeepSpeed ZeRO-2 config, the latter stopped by SIGTERM and
resumed. The first DeepSpeed use compiles a communication op (~45 s, cached in
~/.cache/torch_extensions)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_hparams

from xstilts import features, launch, preemption
from xstilts.prepare import prepare

HP = tiny_hparams(max_steps=12, eval_steps=4)
SPEC = {
    "source": "synthetic",
    "synthetic": {"train_size": 64, "eval_size": 8, "seed": 0},
    "max_eval_examples": None,
}

# One worker of torchrun: trains with train.train and writes its summary (every rank).
WORKER = """
import json, logging, os, sys, time
from pathlib import Path
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
import transformers
delay = float(os.environ.get("XSTILTS_TEST_STEP_DELAY", "0"))
step = transformers.Trainer.training_step
def slow(self, *args, **kwargs):
    time.sleep(delay)
    return step(self, *args, **kwargs)
transformers.Trainer.training_step = slow
load_best = transformers.Trainer._load_best_model
def late(self):  # the second process reads the best checkpoint after the first has finished
    if os.environ["RANK"] == "1":
        time.sleep(2)
    return load_best(self)
transformers.Trainer._load_best_model = late
from xstilts import train
from xstilts.hparams import HParams
a = json.loads(sys.argv[1])
run = Path(a["run"])
info = train.train(encoder=a["encoder"], task_name="mnli", train_cache=Path(a["train"]),
    select_cache=Path(a["select"]), out_dir=run / "model", checkpoint_dir=run / "ckpt",
    hp=HParams.from_json(a["hp"]), seed=1, encoder_only=False, fingerprint="test",
    deepspeed=a["deepspeed"])
(run / f"summary{os.environ['RANK']}.json").write_text(json.dumps(info, default=str))
"""


@pytest.fixture(scope="module")
def caches(tiny_model, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("distributed-data")
    for task in ("mnli", "xnli"):
        prepare(task, SPEC, root / "data" / task)
        features.tokenize(str(tiny_model), root / "data" / task, task, 64, root / "cache" / task)
    return root / "cache"


def _torchrun(run: Path, tiny_model, caches, deepspeed, log: Path, delay=0.0):
    run.mkdir(exist_ok=True)
    (run / "worker.py").write_text(WORKER)
    spec = dict(
        run=str(run),
        encoder=str(tiny_model),
        train=str(caches / "mnli"),
        select=str(caches / "xnli"),
        hp=HP.to_json(),
        deepspeed=deepspeed,
    )
    cmd = [*launch.command_prefix(2)[:3], str(run / "worker.py"), json.dumps(spec)]
    assert cmd[:3] == ["torchrun", "--standalone", "--nproc_per_node=2"]
    cmd[0] = str(Path(sys.executable).with_name("torchrun"))
    env = dict(os.environ, DS_ACCELERATOR="cpu", XSTILTS_TEST_STEP_DELAY=str(delay))
    env.pop("WORLD_SIZE", None)
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=run)


def _check_two_process_output(run: Path, log_text: str) -> dict:
    model = run / "model"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (model / name).is_file(), name
    s0 = json.loads((run / "summary0.json").read_text())
    s1 = json.loads((run / "summary1.json").read_text())  # the second process trained as well
    for s in (s0, s1):
        assert s["world_size"] == 2 and s["train_batch_size"] == 8 and s["global_step"] == 12
    # batch 8 on 2 processes: micro-batch 4, no accumulation (one process would take 8)
    assert log_text.count("training on 2 process(es): micro-batch 4 x accumulation 1") == 2
    assert not (run / "ckpt").exists()
    return s0


@pytest.fixture(scope="module")
def ddp_run(tiny_model, caches, tmp_path_factory):
    run = tmp_path_factory.mktemp("ddp")
    log = run / "torchrun.log"
    rc = _torchrun(run, tiny_model, caches, None, log).wait(timeout=300)
    assert rc == 0, log.read_text()
    return run, log.read_text()


def test_ddp_two_processes(ddp_run):
    run, text = ddp_run
    s0 = _check_two_process_output(run, text)
    assert s0["best_checkpoint"]  # selection ran on the English validation set
    assert "DeepSpeed" not in text


def test_deepspeed_zero2_two_processes_stopped_and_resumed(tiny_model, caches, ddp_run, tmp_path):
    zero2 = launch.deepspeed_config(2)
    run = tmp_path / "zero2"
    log1 = tmp_path / "first.log"
    proc = _torchrun(run, tiny_model, caches, zero2, log1, delay=0.3)
    first = run / "ckpt" / "checkpoint-4" / "trainer_state.json"
    end = time.monotonic() + 400  # includes compiling DeepSpeed's comm op on first use
    while not first.exists():
        assert proc.poll() is None, log1.read_text()
        assert time.monotonic() < end, log1.read_text()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)  # to torchrun, which passes it to both workers
    rc = proc.wait(timeout=120)
    text = log1.read_text()
    assert rc != 0, text
    assert "deepspeed_shm_comm_op" in text or "DeepSpeed" in text  # DeepSpeed really ran
    stops = {line.rsplit(" ", 1)[1] for line in text.splitlines() if "saving a checkpoint" in line}
    assert len(stops) == 1 and text.count("saving a checkpoint at step") == 2, text  # both ranks
    stop = int(stops.pop())
    assert 4 < stop < 12
    ck = run / "ckpt" / f"checkpoint-{stop}"
    assert (ck / "latest").read_text().strip() == f"global_step{stop}"  # ZeRO's own checkpoint
    assert (ck / "rng_state_0.pth").is_file() and (ck / "rng_state_1.pth").is_file()
    from xstilts import train

    assert train.incomplete(ck) is None

    log2 = tmp_path / "second.log"
    rc = _torchrun(run, tiny_model, caches, zero2, log2).wait(timeout=300)
    text = log2.read_text()
    assert rc == 0, text
    assert text.count(f"resuming from checkpoint {ck} (step {stop})") == 2
    s0 = _check_two_process_output(run, text)

    # same data, same seed, same effective batch: ZeRO-2 trains what DDP trains
    ddp = json.loads((ddp_run[0] / "summary0.json").read_text())
    assert s0["train_loss"] == pytest.approx(ddp["train_loss"], rel=1e-4)
    from safetensors.torch import load_file

    a = load_file(ddp_run[0] / "model" / "model.safetensors")
    b = load_file(run / "model" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_launcher_plan():
    ds2, ds3 = launch.deepspeed_config(2), launch.deepspeed_config(3)
    assert Path(ds2).name == "zero2.json" and Path(ds3).name == "zero3.json"
    for path, stage in ((ds2, 2), (ds3, 3)):
        cfg = json.loads(Path(path).read_text())
        assert cfg["zero_optimization"]["stage"] == stage
        assert "optimizer" not in cfg and "scheduler" not in cfg  # the Trainer builds them
        assert cfg["bf16"]["enabled"] == "auto" and cfg["gradient_accumulation_steps"] == "auto"
    assert launch.deepspeed_config(0) is None
    with pytest.raises(ValueError):
        launch.deepspeed_config(1)

    torchrun4 = ["torchrun", "--standalone", "--nproc_per_node=4", "-m", "xstilts"]
    # a GPU node: one process per visible GPU of the allocation, with DeepSpeed
    assert launch.plan(4, 2, visible_gpus=4) == (torchrun4, ds2)
    assert launch.plan(8, 3, visible_gpus=4)[0] == torchrun4
    torchrun1 = [*torchrun4[:2], "--nproc_per_node=1", *torchrun4[3:]]
    assert launch.plan(1, 2, visible_gpus=1) == (torchrun1, ds2)  # DeepSpeed wants torchrun's env
    assert launch.plan(2, 0, visible_gpus=2)[1] is None  # stage 0: plain DDP
    # a CPU machine: the same rule trains in one process, without DeepSpeed
    assert launch.plan(4, 3, visible_gpus=0) == (["xstilts"], None)
    assert launch.plan(0, 2, visible_gpus=0, cpu_processes=2)[0][2] == "--nproc_per_node=2"
    assert launch.argv(4, 2, ["--task", "xnli"])[-2:] == ["--task", "xnli"]  # CPU here


def test_launcher_dry_run_prints_the_command(capfd):
    launch.main(["--gpus", "2", "--zero-stage", "2", "--dry-run", "--", "--task", "xnli"])
    err = capfd.readouterr().err
    expected = "xstilts train --task xnli" if not torch.cuda.is_available() else "torchrun"
    assert expected in err


def test_exit_code():
    assert preemption.Preempted(signal.SIGTERM, 3, "c").code == preemption.EXIT_PREEMPTED == 75
    assert shutil.which("torchrun") or Path(sys.executable).with_name("torchrun").exists()


def test_deepspeed_zero3_saves_whole_weights(tiny_model, caches, ddp_run, tmp_path):
    """ZeRO-3 partitions the weights; the saved model must hold them whole (gathered)."""
    from transformers import AutoModelForSequenceClassification

    run = tmp_path / "zero3"
    log = tmp_path / "zero3.log"
    rc = _torchrun(run, tiny_model, caches, launch.deepspeed_config(3), log).wait(timeout=400)
    text = log.read_text()
    assert rc == 0, text
    s0 = _check_two_process_output(run, text)
    ddp = json.loads((ddp_run[0] / "summary0.json").read_text())
    assert s0["train_loss"] == pytest.approx(ddp["train_loss"], rel=1e-4)
    a = AutoModelForSequenceClassification.from_pretrained(ddp_run[0] / "model").state_dict()
    b = AutoModelForSequenceClassification.from_pretrained(run / "model").state_dict()
    assert a.keys() == b.keys()
    assert all(a[k].shape == b[k].shape and torch.allclose(a[k], b[k], atol=1e-5) for k in a)


# One DeepSpeed process in bf16 (CPU autocast: the precision path of a GPU) training an
# intermediate encoder; DeepSpeed then holds the module's weights in bf16.
BF16_WORKER = """
import json, logging, sys
from pathlib import Path
logging.basicConfig(level=logging.INFO)
from xstilts import device, launch, train
from xstilts.hparams import HParams
a = json.loads(sys.argv[1])
run = Path(a["run"])
info = train.train(encoder=a["encoder"], task_name="mnli", train_cache=Path(a["train"]),
    select_cache=None, out_dir=run / "encoder", checkpoint_dir=run / "ckpt",
    hp=HParams.from_json(a["hp"]), seed=1,
    encoder_only=True, fingerprint="bf16", deepspeed=launch.deepspeed_config(2),
    placement=device.Placement("cpu", True))
(run / "summary.json").write_text(json.dumps(info, default=str))
"""


def test_deepspeed_bf16_encoder_is_saved_in_fp32(tiny_model, caches, tmp_path):
    """`none` starts target training from fp32 hub weights: an intermediate encoder trained
    under DeepSpeed bf16 must be saved in fp32 too (from the master weights), not bf16-rounded."""
    from safetensors.torch import load_file

    (tmp_path / "worker.py").write_text(BF16_WORKER)
    spec = dict(run=str(tmp_path), encoder=str(tiny_model), train=str(caches / "mnli"),
                hp=HP.replace(max_steps=6).to_json())  # fmt: skip
    env = dict(os.environ, DS_ACCELERATOR="cpu", RANK="0", LOCAL_RANK="0", WORLD_SIZE="1",
               MASTER_ADDR="127.0.0.1", MASTER_PORT="29571")  # fmt: skip
    run = subprocess.run(
        [sys.executable, str(tmp_path / "worker.py"), json.dumps(spec)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=400,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "bf16 True" in out  # trained in bf16 under DeepSpeed
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["global_step"] == 6
    weights = load_file(tmp_path / "encoder" / "model.safetensors")
    assert {v.dtype for v in weights.values()} == {torch.float32}
    pretrained = load_file(tiny_model / "model.safetensors")
    key = next(k for k in weights if k.endswith("attention.self.query.weight"))
    # trained (moved), and not merely bf16 values stored as fp32
    assert not torch.equal(weights[key], pretrained[f"roberta.{key}"])
    assert not torch.equal(weights[key], weights[key].to(torch.bfloat16).float())
