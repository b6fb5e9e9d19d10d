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


def test_gpu_batches_are_padded_to_multiples_of_64_and_cpu_batches_to_their_longest(tiny_model):
    from xstilts import formats
    from xstilts import tokenizer as tokenizers

    tok = tokenizers.load(tiny_model)
    assert device.Placement("cuda:0", True).pad_multiple == 64
    assert device.Placement("cpu", False).pad_multiple is None
    rows = [{"input_ids": list(range(5, 5 + n)), "label": 0} for n in (3, 70)]
    for fmt in ("classification", "span_qa"):
        for place, width in ((device.Placement("cuda:0", True), 128), (device.select(), 70)):
            if torch.cuda.is_available() and not place.cuda:
                continue
            batch = formats.get(fmt).collator(tok, place.pad_multiple)(rows)
            assert batch["input_ids"].shape == (2, width), (fmt, place)
            assert batch["attention_mask"].sum().item() == 73
    tagged = [{"input_ids": r["input_ids"], "labels": [0] * len(r["input_ids"])} for r in rows]
    batch = formats.get("tagging").collator(tok, 64)(tagged)
    assert batch["labels"].shape == (2, 128) and (batch["labels"][0, 3:] == -100).all()


def test_gpu_check_says_plainly_that_it_needs_a_gpu():
    import subprocess

    import pytest
    from conftest import REPO

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: `make gpu-check` runs the real check")
    run = subprocess.run(["make", "-s", "gpu-check"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode != 0
    assert "gpu-check needs a CUDA GPU" in run.stderr and "Traceback" not in run.stderr
