"""``make gpu-check``: the job steps on a CUDA GPU, and the training speed of XLM-R Large.

1. Trains (Trainer, bf16 where supported), evaluates and retrieves with the tiny demo model on
   the GPU, then trains once more under the repo's DeepSpeed ZeRO-2 config on one GPU; asserts
   that each step ran on the GPU (its device, and GPU memory it allocated) and that the saved
   DeepSpeed model is fp32.
2. Measures training tokens/s and MFU of a model shaped like XLM-R Large, built from its config
   (random weights, nothing downloaded), at sequence lengths 128 and 256.

Exits 2 with a plain message on a machine without a CUDA GPU. Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from xstilts.hparams import HParams

# dense bf16 tensor-core peak (TFLOP/s) by GPU name; others: --peak-tflops
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}
XLMR_LARGE = dict(
    vocab_size=250002,
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    max_position_embeddings=514,
    type_vocab_size=1,
)
TINY = {
    "architecture": dict(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=130,
    ),
    "vocab_size": 2000,
    "mlm_steps": 5,
    "corpus_sentences_per_language": 40,
}
HP = HParams(
    learning_rate=1e-3,
    epochs=1,
    max_steps=20,
    batch_size=16,
    max_length=64,
    eval_steps=10,
    early_stopping_patience=3,
)


def _on_gpu(step: str, fn):
    """Run ``fn``; fail unless it allocated GPU memory."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    out = fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    if peak <= before:
        raise AssertionError(f"{step}: allocated no GPU memory (ran on the CPU?)")
    print(f"ok  {step}: on the GPU (peak {peak / 2**20:.1f} MiB)", flush=True)
    return out


def check_steps(work: Path) -> None:
    """Train, evaluate, retrieve with the tiny model on the GPU; DeepSpeed ZeRO-2 on one GPU."""
    import torch

    from xstilts import demo_model, device, evaluate, features, launch, train
    from xstilts.formats import retrieval
    from xstilts.prepare import prepare

    place = device.select()
    assert place.cuda, place
    print(f"device {place.device} ({torch.cuda.get_device_name()}), bf16 {place.bf16}")
    model_dir = work / "tiny"
    demo_model.build(model_dir, TINY, ["en", "de"], seed=0)
    spec = {"source": "synthetic", "synthetic": {"train_size": 256, "eval_size": 64, "seed": 0}}
    for task in ("mnli", "xnli"):
        prepare(task, {**spec, "max_eval_examples": None}, work / "data" / task)
        features.tokenize(str(model_dir), work / "data" / task, task, 64, work / "cache" / task)

    def fit(name: str, **kw):
        return train.train(
            encoder=str(model_dir),
            task_name="xnli",
            train_cache=work / "cache" / "mnli",
            select_cache=work / "cache" / "xnli",
            out_dir=work / name,
            checkpoint_dir=work / f"{name}-ckpt",
            hp=HP,
            seed=1,
            encoder_only=False,
            fingerprint=name,
            **kw,
        )

    summary = _on_gpu("training (Trainer)", lambda: fit("trained"))
    assert summary["global_step"] == HP.max_steps, summary
    metrics = _on_gpu(
        "evaluation",
        lambda: evaluate.evaluate(
            model_dir=work / "trained",
            task_name="xnli",
            data_dir=work / "data" / "xnli",
            cache_dir=work / "cache" / "xnli",
            predictions_dir=work / "predictions",
        ),
    )
    print(f"    xnli accuracy by language: {json.dumps(metrics['results'])[:200]}")
    encoder, tokenizer = retrieval.load_encoder(str(model_dir))
    ids = tokenizer([f"sentence number {i}" for i in range(256)])["input_ids"]  # as cached
    vectors = _on_gpu(
        "retrieval embedding", lambda: retrieval.embed_ids(encoder, tokenizer, ids, layer=1)
    )
    assert next(encoder.parameters()).device.type == "cuda" and vectors.shape[0] == 256

    os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29533")
    os.environ["DS_ACCELERATOR"] = "cuda"
    _on_gpu(
        "training (DeepSpeed ZeRO-2)", lambda: fit("zero2", deepspeed=launch.deepspeed_config(2))
    )
    from safetensors.torch import load_file

    dtypes = {str(v.dtype) for v in load_file(work / "zero2" / "model.safetensors").values()}
    assert dtypes == {"torch.float32"}, f"DeepSpeed model saved as {dtypes}, expected fp32"
    print("ok  DeepSpeed model saved in fp32 (master weights)")


def measure_speed(peak_tflops: float | None, steps: int = 10) -> list[dict]:
    """Training tokens/s and MFU of an XLM-R-Large-shaped model at lengths 128 and 256."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    from xstilts import device

    place = device.select()
    name = torch.cuda.get_device_name()
    peak = peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    config = XLMRobertaConfig(**XLMR_LARGE, num_labels=3)
    model = place.model(XLMRobertaForSequenceClassification(config)).train()
    params = sum(p.numel() for p in model.parameters())
    embedding = model.roberta.embeddings.word_embeddings.weight.numel()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    rows = []
    for length, batch in ((128, 32), (256, 16)):
        ids = torch.randint(5, config.vocab_size, (batch, length), device=place.device)
        labels = torch.randint(0, 3, (batch,), device=place.device)

        def step(ids=ids, labels=labels):
            with place.autocast():
                loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        for _ in range(3):  # warm-up
            step()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / steps
        tokens = batch * length / seconds
        # 6 x (non-embedding params) per token, plus attention scores and values (12 x L x h x s)
        L, h = config.num_hidden_layers, config.hidden_size
        flops_per_token = 6 * (params - embedding) + 12 * L * h * length
        achieved = tokens * flops_per_token / 1e12
        rows.append(
            dict(
                seq_len=length,
                batch=batch,
                tokens_per_s=round(tokens),
                tflops=round(achieved, 1),
                mfu=round(achieved / peak, 3) if peak else None,
            )
        )
        print(
            f"XLM-R Large shape, seq {length}, batch {batch}: {tokens:,.0f} tokens/s, "
            f"{achieved:.1f} TFLOP/s"
            + (f", MFU {achieved / peak:.1%} of {peak:.0f} (bf16 {place.bf16})" if peak else ""),
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python tools/gpu_check.py", description=__doc__)
    ap.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak (TFLOP/s)")
    ap.add_argument("--out", type=Path, help="write the speed figures here (JSON)")
    ns = ap.parse_args(argv)
    from xstilts import driver

    fits, line = driver.fit(driver.torch_cuda(), driver.driver_version())
    print(f"gpu-check: {line}")
    import torch

    if not torch.cuda.is_available():
        print(
            "gpu-check needs a CUDA GPU, and this machine has none visible to PyTorch "
            f"(torch {torch.__version__}, CUDA build {torch.version.cuda or 'no'}). "
            "Run it on a GPU node of the cluster." + ("" if fits else f" {line}."),
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as work:
        check_steps(Path(work))
    rows = measure_speed(ns.peak_tflops)
    if ns.out:
        ns.out.write_text(json.dumps({"gpu": torch.cuda.get_device_name(), "speed": rows}))
    print("gpu-check: every step ran on the GPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
