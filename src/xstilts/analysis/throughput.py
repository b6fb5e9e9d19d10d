"""Inference throughput per model, and accuracy against it across models and intermediates.

``measure`` (the ``throughput`` job, one per model, on the evaluation node type): the pretrained
encoder's forward pass over batches drawn from the targets' own tokenised evaluation inputs (their
real length distribution; multiple-choice options count as sequences), each batch padded to its
longest sequence as evaluation pads it, with bf16 weights on a GPU that supports it. It reports
examples/s, tokens/s (non-padding), per-batch latency p50/p95, peak memory, the batch size and
the lengths.
The heads the targets add are a linear layer or two: the encoder is what the sizes differ in.

The analysis: per (model, intermediate) the benchmark average (mean over seeds; its interval
resamples seeds and evaluation examples where the runs left predictions, else seeds) beside the
model's throughput, the Pareto front (no other point both more accurate and
faster), and the smallest model whose best intermediate is within ``within_points`` of the best.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from xstilts import analysis, stats
from xstilts.analysis import examples

RESULT = "throughput.json"


def _sequences(cache: Path) -> list[list[int]]:
    """Every evaluation (test, else validation) input sequence of a tokenised target cache."""
    import datasets

    splits = datasets.load_from_disk(str(cache))
    names = [n for n in splits if n.startswith("test.")] or [
        n for n in splits if n.startswith("validation.")
    ]
    out = []
    for name in names:
        for ids in splits[name]["input_ids"]:
            out.extend(ids if ids and isinstance(ids[0], list) else [ids])
    return out


def measure(
    model_ref: str, caches: list[Path], batch_size: int, batches: int, warmup: int, seed: int
) -> dict:
    """Time the encoder's forward pass on batches of the targets' real inputs."""
    import numpy as np
    import torch
    from transformers import AutoModel

    seqs = [s for c in caches for s in _sequences(Path(c))]
    if not seqs:
        raise ValueError(f"no evaluation inputs in {', '.join(map(str, caches))}")
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    bf16 = cuda and torch.cuda.is_bf16_supported()
    dtype = torch.bfloat16 if bf16 else torch.float32
    model = AutoModel.from_pretrained(model_ref, dtype=dtype).to(device).eval()
    pad = model.config.pad_token_id or 0
    rng = np.random.default_rng(seed)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    latencies, n_examples, n_tokens = [], 0, 0
    for b in range(warmup + batches):
        idx = rng.integers(0, len(seqs), size=batch_size)
        batch = [seqs[i] for i in idx]
        width = max(map(len, batch))
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for r, s in enumerate(batch):
            ids[r, : len(s)] = torch.tensor(s)
            mask[r, : len(s)] = 1
        ids, mask = ids.to(device), mask.to(device)
        start = time.perf_counter()
        with torch.inference_mode():
            model(input_ids=ids, attention_mask=mask)
        if cuda:
            torch.cuda.synchronize()
        if b >= warmup:
            latencies.append(time.perf_counter() - start)
            n_examples += len(batch)
            n_tokens += int(mask.sum())
    total = sum(latencies)
    lengths = np.array([len(s) for s in seqs])
    return {
        "model_ref": model_ref,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "dtype": "bfloat16" if bf16 else "float32",
        "batch_size": batch_size,
        "batches": batches,
        "examples_per_s": n_examples / total,
        "tokens_per_s": n_tokens / total,
        "latency_p50_ms": 1000 * float(np.percentile(latencies, 50)),
        "latency_p95_ms": 1000 * float(np.percentile(latencies, 95)),
        "peak_memory_mb": _peak_memory_mb(cuda),
        "sequences": len(seqs),
        "length_mean": float(lengths.mean()),
        "length_p50": float(np.percentile(lengths, 50)),
        "length_p95": float(np.percentile(lengths, 95)),
    }


def _peak_memory_mb(cuda: bool) -> float:
    if cuda:
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- the analysis ---
def build(
    study,
    values: dict,
    params: dict[str, float],
    speed: dict[str, dict],
    example_reps: dict | None = None,
) -> tuple[list, list]:
    """The Pareto points and the smallest-within table; ``example_reps``: replicates of each
    (model, intermediate, target)'s score over seeds and examples (``examples.score_draws``),
    whose mean over the common targets gives the benchmark average's interval (else seeds)."""
    import numpy as np

    cfg = analysis.settings(study)
    scores = analysis.per_seed_scores(study, values)
    common = analysis.common_targets(study)
    example_reps = example_reps or {}
    points = []
    for model in study.grid["models"]:
        for inter in study.model_grid(model)["intermediate"]:
            per_seed = [
                v
                for (m, i, t, _), v in scores.items()
                if (m, i, t) == (model, inter, analysis.AVERAGE)
            ]
            if not per_seed:
                continue
            per_target = [example_reps.get((model, inter, t)) for t in common]
            if common and all(d is not None for d in per_target):
                reps, method = np.mean(per_target, axis=0), "examples+seeds"
            else:
                rng = stats.rng_for(cfg["seed"], model, inter, "throughput")
                reps, method = stats.mean_draws(per_seed, cfg["replicates"], rng), "seeds"
            low, high = stats.interval(reps, cfg["confidence"])
            s = speed[model]
            points.append(
                {
                    "model": model,
                    "parameters": params[model],
                    "intermediate": inter,
                    "benchmark_average": sum(per_seed) / len(per_seed),
                    "ci_low": low,
                    "ci_high": high,
                    "ci_method": method,
                    "n_seeds": len(per_seed),
                    **{
                        k: s[k]
                        for k in (
                            "examples_per_s",
                            "tokens_per_s",
                            "latency_p50_ms",
                            "latency_p95_ms",
                            "peak_memory_mb",
                            "batch_size",
                            "dtype",
                            "device",
                        )
                    },
                    "run_ids": analysis.run_ids(values, model, (inter,), analysis.AVERAGE, common),
                }
            )
    for p in points:
        p["pareto"] = not any(
            q["benchmark_average"] >= p["benchmark_average"]
            and q["examples_per_s"] >= p["examples_per_s"]
            and (
                q["benchmark_average"] > p["benchmark_average"]
                or q["examples_per_s"] > p["examples_per_s"]
            )
            for q in points
        )
    return points, smallest_within(points, _within(study))


def _within(study) -> float:
    return study.config.get("analysis", {}).get("throughput", {}).get("within_points", 1.0)


def smallest_within(points: list[dict], within: float) -> list[dict]:
    """Per model (smallest first), its best intermediate and whether it is within ``within``
    points of the best overall; ``smallest`` marks the first that is."""
    if not points:
        return []
    best = max(p["benchmark_average"] for p in points)
    out, found = [], False
    for model in sorted(
        {p["model"] for p in points},
        key=lambda m: next(p["parameters"] for p in points if p["model"] == m),
    ):
        top = max((p for p in points if p["model"] == model), key=lambda p: p["benchmark_average"])
        ok = top["benchmark_average"] >= best - within
        out.append(
            {
                "model": model,
                "parameters": top["parameters"],
                "best_intermediate": top["intermediate"],
                "benchmark_average": top["benchmark_average"],
                "behind_best": best - top["benchmark_average"],
                "within_points": within,
                "within": ok,
                "smallest": ok and not found,
                "examples_per_s": top["examples_per_s"],
                "run_ids": top["run_ids"],
            }
        )
        found = found or ok
    return out


def figure(points: list[dict], folder: Path) -> None:
    plt = analysis.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for k, model in enumerate(dict.fromkeys(p["model"] for p in points)):
        mine = [p for p in points if p["model"] == model]
        ax.errorbar(
            [p["examples_per_s"] for p in mine],
            [p["benchmark_average"] for p in mine],
            yerr=[
                [p["benchmark_average"] - p["ci_low"] for p in mine],
                [p["ci_high"] - p["benchmark_average"] for p in mine],
            ],
            fmt="o",
            color=f"C{k}",
            label=model,
            capsize=2,
        )
        for p in mine:
            ax.annotate(
                p["intermediate"], (p["examples_per_s"], p["benchmark_average"]), fontsize=7
            )
    front = sorted((p for p in points if p["pareto"]), key=lambda p: p["examples_per_s"])
    ax.plot(
        [p["examples_per_s"] for p in front],
        [p["benchmark_average"] for p in front],
        "k--",
        lw=1,
        label="Pareto front",
    )
    ax.set_xscale("log")
    ax.set_xlabel("inference examples/s (encoder, configured batch)")
    ax.set_ylabel("benchmark average")
    ax.legend(fontsize=7)
    ax.set_title("Accuracy against throughput")
    analysis.save(fig, folder, "pareto")


def write(study, rows: list[dict], params: dict, speed_files: list[Path], folder: Path) -> dict:
    speed = {}
    for path in speed_files:
        m = json.loads((Path(path) / RESULT).read_text())
        speed[m["model"]] = m
    missing = [m for m in study.grid["models"] if m not in speed]
    if missing:
        raise ValueError(f"no throughput measurement for model(s) {missing} among {speed_files}")
    cfg = analysis.settings(study)
    reps = examples.score_draws(study, rows, cfg)
    points, within = build(study, analysis.run_values(rows), params, speed, reps)
    analysis.write_table(
        points,
        folder,
        "throughput",
        "Benchmark average against inference throughput",
        "Throughput of each model's encoder on the targets' real inputs (examples/s, tokens/s, "
        "per-batch latency, peak memory) beside the benchmark average of each intermediate, "
        f"with its {100 * cfg['confidence']:g}% bootstrap interval (ci_method: seeds and "
        "evaluation examples, or seeds); pareto: no other point is both more accurate and "
        "faster.",
    )
    analysis.write_table(
        within,
        folder,
        "smallest_within",
        f"Smallest model within {_within(study):g} points of the best",
        "Per model, its best intermediate; smallest: the first model (by parameters) within "
        "the margin.",
    )
    figure(points, folder)
    return {"points": len(points)}
