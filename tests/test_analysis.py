"""The follow-up analyses on constructed scores with a known answer, run through the CLI; the
per-model grid and hyper-parameters; budget matching of the multilingual variants; the
inference benchmark on a real tiny encoder."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import REPO, snakemake, tiny_study_config

from xstilts import analysis, config, registry
from xstilts.analysis import volume
from xstilts.errors import ConfigError
from xstilts.study import Study

SIZES = {"m-base": 2.7e8, "m-large": 5.6e8, "m-xl": 3.5e9}
INTERS = ["none", "mnli", "mnli@translate-train-de"]
SEEDS = [1, 2, 3]
XNLI = registry.XNLI_LANGS
CC100 = volume.cc100()["languages"]


def _study(**extra) -> dict:
    cfg = {
        "models": {m: {"hub": f"org/{m}", "parameters": p} for m, p in SIZES.items()},
        "grid": {
            "models": list(SIZES),
            "intermediate": INTERS,
            "targets": ["xnli", "tatoeba"],
            "seeds": SEEDS,
        },
        "data": {"source": "hub"},
        "analysis": {"replicates": 300},
    }
    cfg.update(extra)
    return config.validate(cfg)


def gain(model: str) -> float:
    """Known gain of mnli over none: 5 points at base, -2 per tenfold parameters."""
    return 5.0 - 2.0 * math.log10(SIZES[model] / SIZES["m-base"])


def zero_shot(lang: str) -> float:
    """Known zero-shot score: 10 points per tenfold CC-100 volume (English at 90)."""
    return 90.0 if lang == "en" else 10.0 * math.log10(CC100[lang]["tokens_m"])


def _score(model, inter, target, seed, lang) -> float:
    noise = 2.0 * seed  # the same per seed for every intermediate: cancels in paired gains
    base = (zero_shot(lang) if target == "xnli" else 40.0) + noise
    if inter == "mnli":
        return base + gain(model)
    if inter == "mnli@translate-train-de":
        return base + gain(model) + (3.0 if lang == "de" else -1.0)
    return base


def _scores_files(tmp_path) -> list:
    paths = []
    for model in SIZES:
        rows = []
        for inter in INTERS:
            # tatoeba with Yoruba too: absent from CC-100, so flagged by the volume analysis
            for target, langs in (("xnli", XNLI), ("tatoeba", (*registry.TATOEBA_LANGS, "yo"))):
                for seed in SEEDS:
                    for lang in langs:
                        rows.append(
                            {
                                "model": model,
                                "intermediate": inter,
                                "target": target,
                                "seed": seed,
                                "split": "test",
                                "lang": lang,
                                "metric": "accuracy",
                                "value": _score(model, inter, target, seed, lang),
                                "run_id": f"{model}-{inter}-{target}-{seed}",
                            }
                        )
        path = tmp_path / "results" / model / "scores.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), path)
        paths.append(str(path))
    return paths


def _analyse(tmp_path, name, study, extra=()):
    """Run ``xstilts analyse`` on the constructed scores; the analysis folder."""
    out = tmp_path / "results" / "analysis" / name
    scores = _scores_files(tmp_path)
    cmd = [sys.executable, "-m", "xstilts", "analyse", "--name", name, "--study",
           json.dumps(study), "--scores", *scores, *extra, "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for f in analysis.files(name, Study(study)):
        assert (out / f).is_file(), f
    manifest = json.loads((out / "manifest.json").read_text())
    assert {i["path"] for i in manifest["inputs"]} >= set(scores)
    return out


def test_model_size_slope_and_saturation(tmp_path):
    out = _analyse(tmp_path, "model_size", _study())
    gains = pd.read_parquet(out / "tables" / "model_size.parquet")
    row = gains.query("model == 'm-xl' and intermediate == 'mnli' and target == 'xnli'").iloc[0]
    assert row.gain == pytest.approx(gain("m-xl"))
    assert (row.ci_low, row.ci_high) == pytest.approx((gain("m-xl"),) * 2)  # paired: no noise
    assert row.n_seeds == 3 and "m-xl-none-xnli-1" in row.run_ids
    assert row.ci_method == "seeds"  # no per-example predictions here
    avg = gains.query("model == 'm-large' and intermediate == 'mnli' and target == 'average'")
    assert avg.iloc[0].gain == pytest.approx(gain("m-large"))  # both targets gain the same
    sat = pd.read_parquet(out / "tables" / "saturation.parquet")
    s = sat.query("intermediate == 'mnli' and target == 'average'").iloc[0]
    assert s.slope_per_decade == pytest.approx(-2.0)
    assert (s.slope_ci_low, s.slope_ci_high) == pytest.approx((-2.0, -2.0))
    assert s.smallest == "m-base" and s.largest == "m-xl"
    assert s.confidence_largest_below == 1.0 and "below the smallest" in s.verdict
    assert "slope_per_decade" in (out / "tables" / "saturation.md").read_text()


def test_volume_rank_correlation_and_regression(tmp_path):
    out = _analyse(tmp_path, "volume", _study())
    rows = pd.read_parquet(out / "tables" / "volume.parquet")
    assert set(rows.query("target == 'xnli'").lang) == set(XNLI) - {"en"}
    yo = rows.query("target == 'tatoeba' and lang == 'yo'")
    assert len(yo) and not yo.in_pretraining.any() and yo.volume.isna().all()
    st = pd.read_parquet(out / "tables" / "volume_stats.parquet")
    z = st.query("model == 'm-base' and target == 'xnli' and quantity == 'zero_shot'")
    assert len(z) == 1 and z.iloc[0].intermediate == "none"  # once, not per intermediate
    z = z.iloc[0]
    assert z.spearman_volume == pytest.approx(1.0)
    assert z.coef_log10_volume == pytest.approx(10.0)  # the constructed slope, distance 0
    assert z.coef_distance == pytest.approx(0.0, abs=1e-6)
    assert z.n_languages == len(XNLI) - 1
    t = st.query("model == 'm-base' and target == 'tatoeba' and quantity == 'zero_shot'")
    assert t.iloc[0].flagged == "yo" and t.iloc[0].n_languages == len(registry.TATOEBA_LANGS)
    g = st.query("model == 'm-base' and target == 'xnli' and quantity == 'gain'")
    assert g.iloc[0].coef_log10_volume == pytest.approx(0.0, abs=1e-6)  # gain is constant


def test_multilingual_seen_and_unseen(tmp_path):
    out = _analyse(tmp_path, "multilingual", _study())
    rows = pd.read_parquet(out / "tables" / "multilingual.parquet")
    mine = rows.query("model == 'm-base' and target == 'xnli'").set_index("lang")
    assert mine.loc["de"].difference == pytest.approx(3.0) and mine.loc["de"].seen_in_intermediate
    assert mine.loc["fr"].difference == pytest.approx(-1.0)
    assert not mine.loc["fr"].seen_in_intermediate
    assert mine.loc["seen"].difference == pytest.approx(3.0)
    assert mine.loc["unseen"].difference == pytest.approx(-1.0)
    assert mine.loc["all"].difference == pytest.approx((3.0 - 14.0) / 15)
    assert set(rows.ci_method) == {"seeds"}  # no per-example predictions here


def test_throughput_pareto_and_smallest_within(tmp_path):
    speed = {"m-base": 900.0, "m-large": 400.0, "m-xl": 50.0}
    folders = []
    for m, eps in speed.items():
        d = tmp_path / "results" / m / "throughput"
        d.mkdir(parents=True)
        fields = ("tokens_per_s", "latency_p50_ms", "latency_p95_ms", "peak_memory_mb")
        record = {"model": m, "examples_per_s": eps, **dict.fromkeys(fields, 1.0)}
        (d / "throughput.json").write_text(
            json.dumps({**record, "batch_size": 32, "dtype": "bfloat16", "device": "x"})
        )
        folders.append(str(d))
    study = _study(analysis={"replicates": 100, "throughput": {"within_points": 1.5}})
    out = _analyse(tmp_path, "throughput", study, ["--throughput", *folders])
    within = pd.read_parquet(out / "tables" / "smallest_within.parquet").set_index("model")
    # best: m-base with mnli (gain 5); m-large's best is 5 - 2 log10(560/270) = 4.37
    assert within.loc["m-base"].smallest and within.loc["m-base"].best_intermediate == "mnli"
    points = pd.read_parquet(out / "tables" / "throughput.parquet")
    assert points.query("pareto").model.unique().tolist() == ["m-base"]
    assert set(points.ci_method) == {"seeds"}  # these runs left no predictions


def test_per_model_grid_and_hparams():
    study = Study(
        _study(
            grid={
                "models": list(SIZES),
                "intermediate": INTERS,
                "targets": ["xnli", "tatoeba"],
                "seeds": SEEDS,
                "per_model": {"m-xl": {"intermediate": ["none", "mnli"], "seeds": [1]}},
            },
            hparams={
                "target": {"learning_rate": 2e-5},
                "models": {"m-xl": {"all": {"batch_size": 8}, "target": {"learning_rate": 5e-6}}},
            },
        )
    )
    assert study.model_grid("m-xl") == {
        "intermediate": ["none", "mnli"],
        "targets": ["xnli", "tatoeba"],
        "seeds": [1],
    }
    assert study.trained_intermediates("m-base") == ["mnli", "mnli@translate-train-de"]
    assert study.hparams("target", "xnli", "m-xl").learning_rate == 5e-6
    assert study.hparams("target", "xnli", "m-xl").batch_size == 8
    assert study.hparams("target", "xnli", "m-base").learning_rate == 2e-5
    assert analysis.common_targets(study) == ["xnli", "tatoeba"]
    with pytest.raises(ConfigError, match="grid.per_model.m-xl.intermediate"):
        _study(
            grid={
                "models": list(SIZES),
                "intermediate": ["none", "mnli"],
                "targets": ["xnli"],
                "seeds": [1],
                "per_model": {"m-xl": {"intermediate": ["qqp"]}},
            }
        )
    with pytest.raises(ConfigError, match="hparams.models.m-nope"):
        _study(hparams={"models": {"m-nope": {"all": {"batch_size": 8}}}})


@pytest.mark.parametrize(
    ("budget", "key", "value"),
    [("examples", "max_train_examples", 500), ("steps", "max_steps", 70)],
)
def test_multilingual_budget_matches(budget, key, value):
    inters = ["none", "mnli", "mnli@translate-train", "mnli@translate-train-de", "qqp"]
    study = Study(
        _study(
            grid={"models": ["m-base"], "intermediate": inters, "targets": ["xnli"], "seeds": [1]},
            multilingual={"budget": budget, budget: value},
            hparams={"tasks": {"mnli": {"max_steps": 1000}}},
        )
    )
    budgets = {i: getattr(study.hparams("intermediate", i, "m-base"), key) for i in inters[1:4]}
    assert set(budgets.values()) == {value}  # English, mixed and one-language variants alike
    assert getattr(study.hparams("intermediate", "qqp"), key) != value  # not a variant: untouched
    if budget == "steps":  # no example cap left to make the variants differ
        assert {study.hparams("intermediate", i).max_train_examples for i in inters[1:4]} == {None}
    with pytest.raises(ConfigError, match="multilingual.budget"):
        _study(multilingual={"budget": budget})


def test_one_language_variant_data(tmp_path):
    """The one-language variant prepares that language's training data and English validation."""
    from xstilts.prepare import prepare

    task = registry.get("mnli@translate-train-de")
    assert task.languages == ("de",) and registry.english_base(task.name) == "mnli"
    assert "mnli@translate-train-de" in registry.multilingual_variants("mnli")
    spec = Study(config.validate(tiny_study_config())).data_source("mnli")
    spec["synthetic"]["train_size"] = 30
    info = prepare(task.name, {**spec, "source": "synthetic"}, tmp_path / "d")
    assert sorted(info["rows"]) == ["train.de", "validation.en"]
    assert info["rows"]["train.de"] == 30


def test_throughput_measure_on_a_real_encoder(tmp_path, tiny_model):
    import datasets

    from xstilts.analysis import throughput

    ids = [[0, *range(5, 5 + n), 2] for n in (3, 10, 30, 60)]
    datasets.DatasetDict(
        {
            "test.en": datasets.Dataset.from_dict({"input_ids": ids}),
            "train.en": datasets.Dataset.from_dict({"input_ids": ids[:1]}),
        }
    ).save_to_disk(str(tmp_path / "cache"))
    r = throughput.measure(str(tiny_model), [tmp_path / "cache"], 4, 3, 1, 0)
    assert r["sequences"] == 4 and r["length_p50"] == pytest.approx((12 + 32) / 2)
    assert r["examples_per_s"] > 0 and r["tokens_per_s"] > r["examples_per_s"]
    assert r["latency_p95_ms"] >= r["latency_p50_ms"] > 0 and r["peak_memory_mb"] > 0
    assert r["dtype"] == "float32" and r["batch_size"] == 4


def test_plans_and_demo_declare_every_analysis():
    """The demo config turns on every analysis; the XTREME-R config plans them too."""
    for name in ("demo.yaml", "xtreme-r.yaml"):
        study = Study(config.load(REPO / "config" / name))
        assert [n for n in analysis.ANALYSES if analysis.applicable(n, study)] == list(
            analysis.ANALYSES
        ), name


@pytest.mark.slow
def test_workflow_runs_every_analysis(tmp_path):
    """Two tiny sizes, a German MNLI variant and per-language corpus sizes, through Snakemake:
    every analysis writes its tables and figures, and their rows name real runs."""
    import yaml

    base = tiny_study_config()
    small = json.loads(json.dumps(base["models"]["tiny"]))
    small["build"]["architecture"] |= {"hidden_size": 16, "intermediate_size": 32}
    sizes = {"de": 60, "fr": 40, "es": 30, "ru": 20, "ar": 10, "zh": 5}
    for m in (base["models"]["tiny"], small):
        m["build"]["corpus_sentences"] = sizes
    cfg = tiny_study_config(
        models={"tiny": base["models"]["tiny"], "tiny-s": small},
        grid={
            "models": ["tiny", "tiny-s"],
            "intermediate": ["none", "mnli", "mnli@translate-train-de"],
            "targets": ["xnli", "tatoeba"],
            "seeds": [1],
            "per_model": {"tiny-s": {"intermediate": ["none", "mnli"], "targets": ["xnli"]}},
        },
        multilingual={"budget": "examples", "examples": 32},
        analysis={
            "replicates": 50,
            "volume": {"source": "corpus"},
            "throughput": {"batch_size": 4, "batches": 2, "warmup_batches": 1},
        },
    )
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(tmp_path, configfile="tiny.yaml", timeout=1500)
    study = Study(config.validate(cfg))
    manifests = {
        json.loads(p.read_text())["run_id"] for p in (tmp_path / "results").rglob("manifest.json")
    }
    for name in analysis.ANALYSES:
        folder = tmp_path / "results" / "tiny" / "analysis" / name
        for f in analysis.files(name, study):
            assert (folder / f).stat().st_size > 0, f
        for path in (folder / "tables").glob("*.parquet"):
            table = pd.read_parquet(path)
            ids = {i for cell in table.run_ids for i in str(cell).split(";") if i}
            assert len(table) and ids and ids <= manifests, path
    sizes_table = pd.read_parquet(
        tmp_path / "results/tiny/analysis/model_size/tables/model_size.parquet"
    )
    assert set(sizes_table.model) == {"tiny", "tiny-s"}
    assert set(sizes_table.ci_method) == {"examples+seeds"}  # every run left its predictions
    assert (
        sizes_table.query("model == 'tiny'").parameters.iloc[0]
        > sizes_table.query("model == 'tiny-s'").parameters.iloc[0]
    )
    vol = pd.read_parquet(tmp_path / "results/tiny/analysis/volume/tables/volume.parquet")
    assert vol.query("lang == 'de'").volume.iloc[0] == 60
    assert set(vol.query("intermediate != 'none'").ci_method) == {"examples+seeds"}
    ml = pd.read_parquet(
        tmp_path / "results/tiny/analysis/multilingual/tables/multilingual.parquet"
    )
    assert set(ml.ci_method) == {"examples+seeds"}
    # one seed, yet the benchmark average's interval is real: evaluation examples resampled
    tp = pd.read_parquet(tmp_path / "results/tiny/analysis/throughput/tables/throughput.parquet")
    assert set(tp.ci_method) == {"examples+seeds"} and (tp.n_seeds == 1).all()
    assert ((tp.ci_low < tp.benchmark_average) & (tp.benchmark_average < tp.ci_high)).all()
    # the budget: English MNLI and German MNLI train on the same number of examples
    for inter in ("mnli", "mnli@translate-train-de"):
        enc = tmp_path / f"results/tiny/tiny/intermediate/{inter}/seed1/encoder/manifest.json"
        assert json.loads(enc.read_text())["summary"]["train_examples"] == 32, inter
    # an analysis row traces, through xstilts explain, to the runs it summarises
    table = "results/tiny/analysis/model_size/tables/model_size.csv"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "xstilts",
            "explain",
            table,
            "--row",
            "mnli",
            "--col",
            "xnli",
            "--model",
            "tiny-s",
            "--json",
        ],  # fmt: skip
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    chain = json.loads(out.stdout)
    rules = {n["record"]["rule"] for n in chain["chain"] if "record" in n}
    assert "analyse_model_size" in rules and chain["value"]["run_ids"]
    assert not chain["warnings"]  # every run id it lists has its manifest in the chain
    assert chain["value"]["rows"][0]["model"] == "tiny-s"
    # the Snakemake HTML report carries every analysis's figures and tables
    snakemake(tmp_path, "--report", "report.html", configfile="tiny.yaml", cores=None)
    html = (tmp_path / "report.html").read_text()
    for name in analysis.ANALYSES:
        for f in analysis.files(name, study):
            if f.endswith((".png", ".html")):
                assert f"{name}/{f}" in html, f
