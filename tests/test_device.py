"""The one place that decides a job's device and precision (xstilts.device)."""

from __future__ import annotations

import torch

from xstilts import device


def test_cpu_machine_places_everything_on_the_cpu_in_fp32():
    place = device.select()
    if torch.cuda.is_available():  # a GPU machine: its own GPU, bf16 where supported
        assert place.cuda and place.bf16 == torch.cuda.is_bf16_supported()
        return
    assert place == device.Placement("cpu", False) and not place.cuda
    assert place.dtype == torch.float32
    lin = torch.nn.Linear(4, 2)
    with place.autocast():
        assert lin(torch.ones(1, 4)).dtype == torch.float32


def test_bf16_placement_autocasts_forward_passes_but_keeps_fp32_weights():
    place = device.Placement("cpu", True)  # CPU autocast exists: the same code path as on a GPU
    lin = place.model(torch.nn.Linear(4, 2).to(torch.bfloat16))
    assert lin.weight.dtype == torch.float32  # weights are put back to fp32 master weights
    batch = place.batch({"x": torch.ones(3, 4), "task": "mnli"})
    assert batch["task"] == "mnli" and batch["x"].device.type == "cpu"
    with place.autocast():
        assert lin(batch["x"]).dtype == torch.bfloat16 == place.dtype
    assert lin(batch["x"]).dtype == torch.float32


def test_gpu_check_says_plainly_that_it_needs_a_gpu():
    import subprocess

    import pytest
    from conftest import REPO

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: `make gpu-check` runs the real check")
    run = subprocess.run(["make", "-s", "gpu-check"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode != 0
    assert "gpu-check needs a CUDA GPU" in run.stderr and "Traceback" not in run.stderr
