"""Benchmark definitions and their strict scoring (XTREME's evaluate.py rules), hand-computed."""

from __future__ import annotations

import copy

import pytest

from xstilts import aggregate, benchmarks, config, registry, report
from xstilts.benchmarks import BenchmarkError
from xstilts.errors import ConfigError
from xstilts.study import Study

XTREME, XTREME_R = benchmarks.get("xtreme"), benchmarks.get("xtreme-r")


def _all(bench, task, **metrics) -> dict:
    return {lang: dict(metrics) for lang in bench.task_languages(task)}


def test_definitions_match_xtremes_scorer():
    # google-research/xtreme evaluate.py: XTREME_TASK2LANGS / XTREME_R_TASK2LANGS, group dicts
    assert set(XTREME.tasks) == {t for t in registry.target_tasks() if t in XTREME.tasks}
    assert len(XTREME.tasks) == 9 and len(XTREME_R.tasks) == 10
    assert "pawsx" not in XTREME_R.tasks and "bucc" not in XTREME_R.tasks
    extra = {
        "udpos": {"lt", "pl", "uk", "wo", "ro"},
        "panx": {"qu", "pl", "uk", "az", "lt", "pa", "gu", "ro"},
        "tatoeba": {"az", "lt", "pl", "uk", "ro"},
        "xquad": {"ro"},
    }
    for task in XTREME.tasks:
        if task in XTREME_R.tasks:
            added = set(XTREME_R.task_languages(task)) - set(XTREME.task_languages(task))
            assert added == extra.get(task, set()), task
            assert set(XTREME.task_languages(task)) <= set(XTREME_R.task_languages(task))
    assert len(XTREME_R.task_languages("udpos")) == 38
    assert len(XTREME_R.task_languages("panx")) == 48
    assert len(XTREME_R.task_languages("tatoeba")) == 41
    assert set(XTREME_R.task_languages("xcopa")) == set("et ht id it qu sw ta th tr vi zh".split())
    assert set(XTREME_R.task_languages("mewslix")) == set(
        "ar de en es fa ja pl ro ta tr uk".split()
    )
    # every member task is in exactly one group
    for bench in (XTREME, XTREME_R):
        grouped = [t for ts in bench.groups.values() for t in ts]
        assert sorted(grouped) == sorted(bench.tasks)
    assert XTREME_R.groups["classification"] == ("xnli", "xcopa")


def test_task_score_hand_cases():
    # xnli: 14 languages at 70, en at 85 -> (14 * 70 + 85) / 15 = 71
    scores = _all(XTREME, "xnli", accuracy=70.0) | {"en": {"accuracy": 85.0}}
    assert XTREME.task_score("xnli", scores) == pytest.approx(71.0)
    # mlqa: EM mean (6 * 40 + 60) / 7 = 300/7; F1 mean (6 * 50 + 80) / 7 = 380/7 -> 340/7
    qa = _all(XTREME, "mlqa", exact_match=40.0, f1=50.0) | {"en": {"exact_match": 60.0, "f1": 80.0}}
    assert XTREME.task_score("mlqa", qa) == pytest.approx(340 / 7)
    # languages outside the benchmark's set are not averaged: xquad's ro only counts on XTREME-R
    xquad = _all(XTREME, "xquad", exact_match=50.0, f1=70.0) | {"ro": {"exact_match": 0, "f1": 0}}
    assert XTREME.task_score("xquad", xquad) == pytest.approx(60.0)
    assert XTREME_R.task_score("xquad", xquad) == pytest.approx(60.0 * 11 / 12)


def test_a_missing_language_is_an_error_naming_it():
    scores = _all(XTREME_R, "udpos", f1=80.0)
    del scores["wo"], scores["lt"]
    with pytest.raises(
        BenchmarkError, match=r"task 'udpos' has no result for language\(s\) lt, wo"
    ):
        XTREME_R.task_score("udpos", scores)
    # the same results are complete for XTREME (which has neither language)
    assert XTREME.task_score("udpos", scores) == 80.0
    # partial: the mean over the languages there
    assert XTREME_R.task_score("udpos", scores, partial=True) == 80.0
    qa = _all(XTREME, "tydiqa", exact_match=1.0, f1=2.0)
    del qa["sw"]["exact_match"]
    with pytest.raises(BenchmarkError, match="'tydiqa', language 'sw': missing metric"):
        XTREME.task_score("tydiqa", qa)
    with pytest.raises(KeyError, match="'pawsx' is not part of benchmark 'xtreme-r'"):
        XTREME_R.task_languages("pawsx")
    with pytest.raises(KeyError, match="unknown benchmark 'xtreme-s'"):
        benchmarks.get("xtreme-s")


def test_an_incomplete_group_or_overall_is_not_reported():
    tasks = {"xnli": 70.0, "pawsx": 80.0, "udpos": 60.0, "mlqa": 50.0}
    s = XTREME.score(tasks)
    assert s.groups == {"classification": 75.0}  # (70 + 80) / 2; no panx, no complete QA
    assert s.overall is None
    assert s.missing["structured_prediction"] == ("panx",)
    assert s.missing["question_answering"] == ("xquad", "tydiqa")
    assert s.missing["overall"] == ("panx", "xquad", "tydiqa", "bucc", "tatoeba")
    assert not s.complete and s.partial == ()
    row = s.row()
    assert "structured_prediction" not in row and row["overall"] is None
    assert "structured_prediction: no panx" in row["missing"]
    # partial: means over what is there, each marked
    p = XTREME.score(tasks, partial=True)
    assert p.groups == {
        "classification": 75.0,
        "structured_prediction": 60.0,
        "question_answering": 50.0,
    }
    assert p.overall == pytest.approx(65.0)  # (70 + 80 + 60 + 50) / 4
    assert set(p.partial) == {"structured_prediction", "question_answering", "overall"}
    assert p.row()["missing"].startswith("partial (")


def test_complete_scores_and_tasks_outside_the_benchmark():
    tasks = {t: 10.0 * (i + 1) for i, t in enumerate(XTREME_R.tasks)}  # xnli 10 ... lareqa 100
    s = XTREME_R.score({**tasks, "pawsx": 99.0})
    assert s.complete and "pawsx" not in s.tasks
    assert s.groups["classification"] == 15.0  # xnli 10, xcopa 20
    assert s.groups["retrieval"] == pytest.approx((80 + 90 + 100) / 3)  # tatoeba, mewslix, lareqa
    assert s.overall == pytest.approx(55.0)  # mean of 10 ... 100
    # a task scored over only some languages makes every aggregate containing it partial
    f = XTREME_R.score(tasks, partial=True, partial_tasks=("xcopa",))
    assert set(f.partial) == {"xcopa", "classification", "overall"}


# --- the config picks the benchmark ---
def _demo(**changes) -> dict:
    """A minimal config of the study (synthetic data, one built model)."""
    arch = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    cfg = {
        "models": {"tiny": {"build": {"architecture": arch}}},
        "grid": {
            "models": ["tiny"],
            "intermediate": ["none", "mnli"],
            "targets": ["xnli", "pawsx", "udpos", "bucc"],
            "seeds": [1],
        },
        "data": {"source": "synthetic"},
    }
    cfg.update(copy.deepcopy(changes))
    return cfg


def test_config_benchmark_sets_languages_and_members():
    study = Study(config.validate(_demo()))
    assert study.benchmark() is XTREME
    assert "languages" not in study.data_source("udpos")  # the registry's = XTREME's
    cfg = _demo(benchmark="xtreme-r")
    cfg["grid"] = {**cfg["grid"], "targets": ["xnli", "udpos", "xcopa"]}
    study = Study(config.validate(cfg))
    assert study.data_source("udpos")["languages"] == list(XTREME_R.task_languages("udpos"))
    assert "languages" not in study.data_source("mnli")  # not a benchmark task
    assert {"siqa", "copa", "xcopa"} <= set(study.data_tasks())  # SIQa, then COPA
    assert study.train_before("xcopa") == ("siqa",)
    cfg["target_training"] = {"xcopa": []}  # COPA alone
    study = Study(config.validate(cfg))
    assert study.train_before("xcopa") == () and "siqa" not in study.data_tasks()
    # a target outside the benchmark keeps the registry's languages
    study = Study(config.validate(_demo(benchmark="xtreme-r")))
    assert "languages" not in study.data_source("pawsx")
    # LAReQA and Mewsli-X have no hub copy: the config must read them from local files
    hub = _demo(benchmark="xtreme-r", data={"source": "hub"})
    hub["grid"] = {**hub["grid"], "targets": ["xnli", "lareqa", "mewslix"]}
    with pytest.raises(ConfigError, match="lareqa, mewslix have no Hugging Face hub"):
        config.validate(hub)
    hub["data"]["tasks"] = {t: {"source": "local"} for t in ("lareqa", "mewslix")}
    assert Study(config.validate(hub)).data_source("lareqa")["source"] == "local"
    with pytest.raises(ConfigError, match="config key 'benchmark'"):
        config.validate(_demo(benchmark="xtreme-s"))


# --- the matrix and the report read the definition ---
def _rows(target, per_lang: dict, inter="none", seed=1) -> list[dict]:
    return [
        {
            "model": "m",
            "intermediate": inter,
            "target": target,
            "seed": seed,
            "split": "test",
            "lang": lang,
            "metric": metric,
            "value": value,
            "run_id": f"{inter}-{target}-{seed}",
        }
        for lang, metrics in per_lang.items()
        for metric, value in metrics.items()
    ]


def test_matrix_is_strict_and_partial_marks_the_gap():
    complete = _all(XTREME, "pawsx", accuracy=80.0)
    short = {lang: {"accuracy": 60.0} for lang in XTREME.task_languages("xnli")[:-2]}
    rows = _rows("pawsx", complete) + _rows("xnli", short)
    with pytest.raises(BenchmarkError, match=r"run none/xnli/seed1 \(test split\).*vi, zh"):
        aggregate.matrix(rows, "xtreme")
    cells = {c["target"]: c for c in aggregate.matrix(rows, "xtreme", partial=True)}
    assert cells["xnli"]["mean"] == 60.0 and cells["xnli"]["missing"] == "vi zh"
    assert cells["pawsx"]["missing"] == ""
    table = report.xtreme_table(list(cells.values()), XTREME, partial=True)
    (row,) = table
    assert row["classification"] == 70.0  # (80 + 60) / 2, over a partial xnli
    assert row["missing"].startswith("partial (xnli, classification")
    strict = report.xtreme_table(list(cells.values()), XTREME)
    assert strict[0]["overall"] is None and "overall: no udpos" in strict[0]["missing"]


def test_a_target_outside_the_benchmark_is_a_task_in_no_group():
    rows = _rows("pawsx", _all(XTREME, "pawsx", accuracy=80.0))
    rows += _rows("xnli", _all(XTREME, "xnli", accuracy=60.0))
    rows += _rows("xcopa", _all(XTREME_R, "xcopa", accuracy=55.0))
    cells = aggregate.matrix(rows, XTREME_R)
    assert {c["target"]: c["mean"] for c in cells} == {"pawsx": 80.0, "xnli": 60.0, "xcopa": 55.0}
    (row,) = report.xtreme_table(cells, XTREME_R)
    assert "pawsx" not in row and row["classification"] == 57.5  # xnli and xcopa
    short = _rows("pawsx", {"en": {"accuracy": 1.0}})
    with pytest.raises(BenchmarkError, match="'pawsx' has no result for language"):
        aggregate.matrix(short, XTREME_R)  # strict over the registry's languages


def test_scores_table_names_its_benchmark(tmp_path):
    rows = _rows("xcopa", _all(XTREME_R, "xcopa", accuracy=55.0))
    cells = aggregate.matrix(rows, "xtreme-r")
    paths = [tmp_path / n for n in ("scores.parquet", "matrix.csv", "matrix.png")]
    aggregate.write(rows, cells, *paths, "t", "xtreme-r")
    assert aggregate.read_benchmark(paths[0]) == XTREME_R
    assert cells[0]["mean"] == 55.0
    # published numbers are on XTREME: only tasks over the same languages compare on XTREME-R
    tasks, same = report.comparable(report.published(), XTREME_R)
    assert tasks == ["xnli", "pawsx", "mlqa", "tydiqa"] and not same  # pawsx: outside, as XTREME
    assert report.comparable(report.published(), XTREME) == (
        ["xnli", "pawsx", "panx", "xquad", "mlqa", "tydiqa"],
        True,
    )


def test_xtreme_r_prepares_the_extra_languages(tmp_path):
    from xstilts.prepare import prepare

    cfg = _demo(
        benchmark="xtreme-r",
        data={"source": "synthetic", "synthetic": {"train_size": 4, "eval_size": 2}},
    )
    cfg["grid"] = {**cfg["grid"], "targets": ["udpos"]}
    spec = Study(config.validate(cfg)).data_source("udpos")
    rows = prepare("udpos", spec, tmp_path / "udpos")["rows"]
    assert {f"test.{lang}" for lang in ("lt", "pl", "uk", "wo", "ro")} <= set(rows)
    assert {n for n in rows if n.startswith("test.")} == {
        f"test.{lang}" for lang in XTREME_R.task_languages("udpos")
    }


def test_lareqa_is_one_mean_over_all_questions(tmp_path):
    """XTREME's utils_lareqa.py mean_avg_prec_at_k averages AP@20 over every question of every
    language at once: with unequal question counts that is not the mean of language means."""
    import pyarrow.parquet as pq

    from xstilts import score
    from xstilts.metrics.ranking import average_precision_at_k

    task = registry.get("lareqa")
    langs = XTREME_R.task_languages("lareqa")
    splits, every_ap = {}, []
    for i, lang in enumerate(langs):
        rows = []
        for q in range(i + 1):  # language i has i + 1 questions
            gold = [f"{lang}-{q}", f"en-{q}"]  # answer in its own language and in English
            hit = (q + i) % 3  # rank of the first gold: 1st, 2nd or not in the top 20
            prediction = [f"x{j}" for j in range(20)]
            if hit < 2:
                prediction.insert(hit, gold[0])
            rows.append({"id": f"{lang}{q}", "gold": gold, "prediction": prediction[:20]})
            every_ap.append(average_precision_at_k(gold, prediction[:20], 20))
        splits[f"test.{lang}"] = rows
    results = score.results(task, splits)["test"]
    assert results["en"]["n"] == langs.index("en") + 1
    pooled = 100 * sum(every_ap) / len(every_ap)  # XTREME: np.mean(ap_scores)
    by_language = sum(r["map@20"] for r in results.values()) / len(langs)
    assert abs(pooled - by_language) > 1  # the case tells the two apart
    rows = [
        {"model": "m", "intermediate": "none", "target": "lareqa", "seed": 1, "split": "test"}
        | {"lang": lang, "metric": "map@20", "value": r["map@20"], "run_id": "r", "n": r["n"]}
        for lang, r in results.items()
    ]
    (cell,) = aggregate.matrix(rows, XTREME_R)
    assert cell["mean"] == pytest.approx(pooled, abs=1e-9)
    paths = [tmp_path / n for n in ("scores.parquet", "matrix.csv", "matrix.png")]
    aggregate.write(rows, [cell], *paths, "t", "xtreme-r")
    (again,) = aggregate.matrix(pq.read_table(paths[0]).to_pylist(), XTREME_R)
    assert again["mean"] == pytest.approx(pooled, abs=1e-9)
    without_counts = {lang: {"map@20": r["map@20"]} for lang, r in results.items()}
    with pytest.raises(BenchmarkError, match=r"'lareqa' is scored over all its examples"):
        XTREME_R.task_score("lareqa", without_counts)


def test_a_study_over_a_subset_of_a_tasks_languages_gets_no_benchmark_score(tmp_path):
    """Its matrix is over the languages it has; strict about those; no group or overall score
    counts the task, and the scores table keeps the subset for every later reader."""
    mine = XTREME.over({"panx": ("de", "en", "fr"), "xnli": XTREME.languages["xnli"]})
    assert mine.subset == {"panx": ("de", "en", "fr")}  # xnli: the benchmark's own set
    rows = _rows("panx", {"de": {"f1": 0.4}, "en": {"f1": 0.8}, "fr": {"f1": 0.6}})
    rows += _rows("udpos", _all(XTREME, "udpos", f1=0.5))
    cells = aggregate.matrix(rows, mine)
    assert {c["target"]: round(c["mean"], 6) for c in cells} == {"panx": 0.6, "udpos": 0.5}
    assert all(c["missing"] == "" for c in cells)
    (row,) = report.xtreme_table(cells, mine)
    assert row["overall"] is None and row.get("structured_prediction") is None
    assert "panx over a subset of its languages (no af ar" in row["missing"]
    with pytest.raises(BenchmarkError, match=r"'panx' has no result for language\(s\) fr"):
        aggregate.matrix([r for r in rows if r["lang"] != "fr"], mine)
    paths = [tmp_path / n for n in ("scores.parquet", "matrix.csv", "matrix.png")]
    aggregate.write(rows, cells, *paths, "t", mine)
    assert aggregate.read_benchmark(paths[0]) == mine
