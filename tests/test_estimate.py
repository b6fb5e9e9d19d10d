"""estimate: planned jobs match Snakemake's plan; GPU-hours follow the grid and the assumptions."""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil

import pytest
import yaml
from conftest import REPO, planned

from xstilts import config, estimate, registry
from xstilts.study import Study

PAPER = REPO / "config" / "config.yaml"


def study(seeds: list[int] | None = None, path=PAPER) -> Study:
    raw = yaml.safe_load(path.read_text())
    if seeds is not None:
        raw = copy.deepcopy(raw)
        raw["grid"]["seeds"] = seeds
    return Study(config.validate(raw))


def dry_run(configfile, workdir) -> dict[str, int]:
    """Job counts per rule of ``snakemake -n``, without ``all``."""
    counts = planned(workdir, str(configfile), cores=1, timeout=300)
    counts.pop("all", None)
    return counts


@pytest.mark.parametrize("name", ["config.yaml", "demo.yaml", "xtreme-r.yaml"])
def test_jobs_match_the_snakemake_plan(name, tmp_path):
    if shutil.which("snakemake") is None:
        pytest.skip("snakemake is not on PATH: cannot compare with its plan")
    path = REPO / "config" / name
    planned = estimate.estimate(study(path=path), estimate.load_assumptions(None), "A100").jobs
    assert planned == dry_run(path, tmp_path)


def test_gpu_hours_scale_linearly_with_seeds():
    a = estimate.load_assumptions(None)
    one = estimate.estimate(study([1]), a, "A100")
    three = estimate.estimate(study([1, 2, 3]), a, "A100")
    assert one.total_gpu_hours > 0
    assert three.total_gpu_hours == pytest.approx(3 * one.total_gpu_hours)
    assert three.jobs["finetune"] == 3 * one.jobs["finetune"]
    # every cell is scored, fine-tuned or retrieved
    assert one.jobs["score"] == one.jobs["finetune"] + one.jobs["retrieve"]
    assert three.jobs["prepare_data"] == one.jobs["prepare_data"]


def run_cli(argv: list[str], capsys) -> str:
    ap = argparse.ArgumentParser()
    estimate.register(ap.add_subparsers(dest="command"))
    args = ap.parse_args(argv)
    args.func(args)
    return capsys.readouterr().out


def total(report: str) -> float:
    (line,) = [x for x in report.splitlines() if x.startswith("total ")]
    return float(line.split()[-1].replace(",", ""))


def test_report_prints_assumptions_and_table(capsys):
    out = run_cli(["estimate", "--configfile", str(PAPER), "--gpu-type", "H100"], capsys)
    for text in (
        "H100 989 TFLOP/s peak x MFU classification 8%, tagging 6%, span_qa 25%",
        "xlmr-large 560.0M (303.0M non-embedding)",
        "mnli 392,702",
        "squad_v1 87,599",
        "classification 50",
        "intermediate mnli: 3 epochs",
        "target xnli: 2 epochs",
    ):
        assert text in out
    grid = study().grid
    n_inter, n_seeds = len(grid["intermediate"]), len(grid["seeds"])
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:1].islower()}
    assert int(rows["finetune"][0]) == n_inter * 7 * n_seeds  # 7 fine-tuned targets
    assert rows["score"][1] == "cpu" and "evaluate" not in rows
    assert int(rows["retrieve"][0]) == n_inter * 2 * n_seeds  # bucc, tatoeba
    assert rows["tokenize"][1] == "cpu" and float(rows["train_intermediate"][1]) > 0
    assert total(out) > 0
    assert f"intermediate encoders (kept): {(n_inter - 1) * n_seeds} x 2.2 GB" in out  # fp32


def test_overriding_assumptions_changes_the_estimate(tmp_path, capsys):
    base = total(run_cli(["estimate", "--configfile", str(PAPER)], capsys))
    slow = tmp_path / "slow.yaml"
    slow.write_text(yaml.safe_dump({"mfu": 0.02, "mean_tokens": {"classification": 100}}))
    out = run_cli(["estimate", "--configfile", str(PAPER), "--assumptions", str(slow)], capsys)
    assert "classification 8%" not in out and "2% MFU" in out and "classification 100" in out
    assert total(out) > 2 * base
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("mfuu: 0.3\n")
    with pytest.raises(SystemExit, match="unknown assumption"):
        run_cli(["estimate", "--configfile", str(PAPER), "--assumptions", str(wrong)], capsys)


def test_unknown_sizes_are_assumed_and_said():
    a = estimate.load_assumptions(None)
    del a["train_examples"]["mnli"]
    out = estimate.report(study(), a, "A100", "paper")
    assert "unknown size: mnli: assumed 50,000 training examples" in out
    raw = yaml.safe_load(PAPER.read_text())
    raw["models"]["xlmr-large"]["hub"] = "someone/custom-encoder"
    custom = Study(config.validate(raw))
    assert "unknown model size for xlmr-large" in estimate.report(custom, a, "A100", "custom")


def test_model_size_from_architecture_and_hub_id():
    demo = study(path=REPO / "config" / "demo.yaml")
    cost = estimate.CostModel(demo, estimate.load_assumptions(None), "A100")
    assert cost.params("tiny-xlmr") == 12 * 4 * 64**2 + 4000 * 64
    assert cost.flop_params("tiny-xlmr") == 12 * 4 * 64**2  # the embedding table is a lookup
    paper = estimate.CostModel(study(), estimate.load_assumptions(None), "V100")
    assert paper.params("xlmr-large") == 560e6 and paper.flop_params("xlmr-large") == 303e6
    with pytest.raises(ValueError, match="unknown GPU type 'TPU'"):
        estimate.CostModel(study(), estimate.load_assumptions(None), "TPU")


def test_training_tokens_follow_epochs_or_max_steps():
    cost = estimate.CostModel(study(), estimate.load_assumptions(None), "A100")
    mnli = (("mnli", "intermediate", "mnli"),)
    assert cost.train_tokens(mnli) == 392_702 * 50 * 3
    raw = yaml.safe_load(PAPER.read_text())
    raw["hparams"] = {"intermediate": {"max_steps": 1000}}
    capped = estimate.CostModel(Study(config.validate(raw)), cost.a, "A100")
    assert capped.train_tokens(mnli) == 1000 * 32 * 50


def test_translated_variants_count_every_language_and_the_cap():
    raw = yaml.safe_load((REPO / "config" / "xtreme-r.yaml").read_text())
    raw["multilingual"] = {"budget": "none"}
    mixed, german = "mnli@translate-train", "mnli@translate-train-de"
    languages = len(registry.get(mixed).languages)
    cost = estimate.CostModel(Study(config.validate(raw)), estimate.load_assumptions(None), "A100")
    assert cost.examples(german) == 392_702 and cost.examples(mixed) == languages * 392_702
    assert not cost.notes  # both sizes are known, not assumed
    every = cost.train_tokens(((mixed, "intermediate", mixed),))
    assert every == languages * 392_702 * 50 * 3  # every example of each language, 3 epochs
    raw["multitask"]["cap"] = 100_000  # the sampler's cap: at most 100k examples a language
    capped = estimate.CostModel(Study(config.validate(raw)), cost.a, "A100")
    assert capped.train_tokens(((mixed, "intermediate", mixed),)) == languages * 100_000 * 50 * 3
    assert capped.train_tokens(((german, "intermediate", german),)) == 392_702 * 50 * 3


def test_flops_count_non_embedding_parameters_at_the_formats_mfu():
    a = estimate.load_assumptions(None)
    cost = estimate.CostModel(study(), a, "A100")
    mnli = estimate.Planned("train_intermediate", "xlmr-large", (("mnli", "intermediate", "mnli"),))
    tokens = 392_702 * 50 * 3
    seconds = 6 * 303e6 * tokens * 1.1 / (312e12 * a["mfu"]["classification"])
    assert cost.gpu_hours(mnli) == pytest.approx(seconds / 3600)
    squad = estimate.Planned("finetune", "xlmr-large", (("squad_v1", "target", "xquad"),), "xquad")
    hp = study().hparams("target", "xquad")
    train = 6 * 303e6 * 87_599 * hp.epochs * 200 * 1.1
    predict = 2 * 303e6 * cost.eval_tokens("xquad")
    assert cost.gpu_hours(squad) == pytest.approx((train + predict) / (312e12 * 0.25) / 3600)


def test_measured_mfu_replaces_the_assumed(tmp_path, capsys, monkeypatch):
    base = total(run_cli(["estimate", "--configfile", str(PAPER), "--gpu-type", "H200"], capsys))
    measured = tmp_path / "gpu-check.json"
    measured.write_text(json.dumps({"gpu_type": "NVIDIA H200", "mfu": {"classification": 0.04}}))
    monkeypatch.chdir(tmp_path)  # found where make gpu-check writes it, without --measured
    out = run_cli(["estimate", "--configfile", str(PAPER)], capsys)
    assert "on H200" in out and "classification 4%, tagging 6%" in out
    assert f"(measured: {estimate.MEASURED})" in out and total(out) > base
    measured.write_text(json.dumps({"tokens_per_s": 1}))
    with pytest.raises(SystemExit, match="expected 'mfu'"):
        run_cli(["estimate", "--configfile", str(PAPER), "--measured", str(measured)], capsys)


def test_peak_checkpoint_disk_follows_the_concurrent_jobs():
    """Peak checkpoint disk = 3 checkpoints (newest, best, the one being written) x concurrent
    training jobs, capped by the jobs the grid has; the default is the SLURM profile's jobs."""
    s = study(seeds=[1])
    a = estimate.load_assumptions(None)
    params = estimate.CostModel(s, a, "A100").params("xlmr-large")
    checkpoint = params * (a["checkpoint_weight_bytes"] + a["optimizer_bytes"])

    def peak(concurrent):
        line = next(
            d
            for d in estimate.estimate(s, {**a, "concurrent_jobs": concurrent}, "A100").disk
            if d.startswith("peak")
        )
        n, gb = re.match(
            r"peak checkpoint disk, (\d+) training jobs at once: ([\d,.]+) GB", line
        ).groups()
        return int(n), float(gb.replace(",", ""))

    assert peak(10) == (10, pytest.approx(round(3 * checkpoint * 10 / 1e9, 1)))
    assert peak(20)[1] == pytest.approx(2 * peak(10)[1], rel=1e-3)
    assert peak(None)[0] == min(estimate.profile_jobs(), 10 + 77)  # 10 intermediate + 77 finetune
    assert (
        estimate.profile_jobs()
        == yaml.safe_load(
            (REPO / "workflow" / "profiles" / "slurm" / "config.v8+.yaml").read_text()
        )["jobs"]
    )


def test_disk_prices_each_models_encoders_at_its_own_size(capsys):
    """config/xtreme-r.yaml's four model sizes: each model's kept encoders at its own weights,
    per-model lines that add up to the total (not every encoder at XXL's size)."""
    out = run_cli(["estimate", "--configfile", str(REPO / "config" / "xtreme-r.yaml")], capsys)
    (total,) = re.findall(r"kept when the study is done: ([\d,.]+) GB, per model:", out)
    lines = re.findall(
        r"^    (\S+): kept ([\d,.]+) GB; intermediate encoders \(kept\): "
        r"(\d+) x ([\d,.]+) GB",
        out,
        re.M,
    )
    assert {m for m, *_ in lines} == {"xlmr-base", "xlmr-large", "xlmr-xl", "xlmr-xxl"}
    gb = {m: float(w) for m, _, _, w in lines}
    assert gb["xlmr-base"] < gb["xlmr-large"] < gb["xlmr-xl"] < gb["xlmr-xxl"]
    for _, kept, n, w in lines:  # target models are temporary in this config
        assert float(kept.replace(",", "")) == pytest.approx(int(n) * float(w), rel=0.06)
    kept = sum(float(k.replace(",", "")) for _, k, _, _ in lines)
    assert float(total.replace(",", "")) == pytest.approx(kept, abs=0.2)
    assert float(total.replace(",", "")) < 1000  # ~741 GB, where XXL's size everywhere gave 2,568
