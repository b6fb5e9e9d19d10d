"""The report: bootstrap intervals, tables, figures, and Snakemake's HTML report in a browser."""

from __future__ import annotations

import base64
import csv
import json
import re
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from matplotlib.image import imread

from xstilts import benchmarks, registry, report, stats
from xstilts.metrics.tagging import entity_f1

CHROMIUM = Path("/usr/bin/chromium")
TARGETS = ["xnli", "udpos"]
XNLI = registry.get("xnli")


# --- bootstrap ---
def _classification(correct: list[int]) -> dict:
    """One seed's statistics of one English-only run: per example 100 if correct else 0."""
    return {"en": np.array([[100.0 * c] for c in correct])}


def _ci(base, other, replicates=1000, seed=0, task=XNLI):
    draws = report.example_bootstrap(task, base, other, replicates, np.random.default_rng(seed))
    return draws, stats.interval(draws, 0.95)


def test_interval_contains_the_estimate_and_narrows_with_more_examples():
    rng = np.random.default_rng(1)
    widths = []
    for n in (50, 2000):
        base = [_classification(rng.random(n) < 0.6), _classification(rng.random(n) < 0.6)]
        other = [_classification(rng.random(n) < 0.7), _classification(rng.random(n) < 0.7)]
        estimate = statistics.fmean(other[s]["en"].mean() - base[s]["en"].mean() for s in (0, 1))
        _, (low, high) = _ci(base, other)
        assert low < estimate < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3


def test_seeded_bootstrap_is_reproducible():
    rng = np.random.default_rng(2)
    base = [_classification(rng.random(200) < 0.5)]
    other = [_classification(rng.random(200) < 0.6)]
    first, _ = _ci(base, other, seed=7)
    again, _ = _ci(base, other, seed=7)
    different, _ = _ci(base, other, seed=8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, different)


def test_identical_runs_differ_by_exactly_zero():
    rng = np.random.default_rng(3)
    runs = [_classification(rng.random(300) < 0.5), _classification(rng.random(300) < 0.7)]
    draws, interval = _ci(runs, [dict(r) for r in runs])
    assert np.all(draws == 0.0) and interval == (0.0, 0.0)
    seeds_only = report.seed_bootstrap([40.0, 50.0], [40.0, 50.0], 100, np.random.default_rng(0))
    assert np.all(seeds_only == 0.0)


def test_seed_bootstrap_resamples_seeds():
    draws = report.seed_bootstrap(
        [40.0, 50.0, 45.0], [42.0, 55.0, 45.0], 2000, np.random.default_rng(0)
    )
    assert draws.min() == 0.0 and draws.max() == 5.0  # all-third-seed and all-second-seed draws
    assert abs(draws.mean() - 7 / 3) < 0.1


def test_tagging_statistics_reproduce_seqeval_f1():
    rng = np.random.default_rng(4)
    tags = ["B-PER", "I-PER", "B-LOC", "I-LOC", "O", "O", "O"]
    gold = [[str(t) for t in rng.choice(tags, rng.integers(1, 12))] for _ in range(200)]
    pred = [[t if rng.random() < 0.7 else str(rng.choice(tags)) for t in s] for s in gold]
    rows = [
        {"id": i, "prediction": p, "gold": g}
        for i, (p, g) in enumerate(zip(pred, gold, strict=True))
    ]
    panx = registry.get("panx")
    stats = np.array(list(report.example_stats(panx, "de", rows).values()))
    f1 = report.lang_metrics(panx, stats.sum(0), len(stats))["f1"]
    assert f1 == pytest.approx(entity_f1(pred, gold)["f1"])


def test_bucc_pairs_count_unmined_gold_pairs_as_misses():
    def rows(pairs):
        return [{"source_id": s, "target_id": t, "score": c, "gold": g} for s, t, c, g in pairs]

    gold_pairs = [("d1", "e1"), ("d3", "e3"), ("d4", "e4"), ("d5", "e5")]
    # run a mines d1-e1 (gold) and d2-e9 above its threshold 1.0, d3-e3 below it
    a = rows([("d1", "e1", 1.4, True), ("d2", "e9", 1.2, False), ("d3", "e3", 0.9, True)])
    a += rows([("d4", "e4", None, True), ("d5", "e5", None, True)])
    # run b keeps d1-e1 and d4-e4 at its threshold 1.1; d3-e3 and d5-e5 it never mined
    b = rows([("d1", "e1", 1.5, True), ("d4", "e4", 1.1, True)])
    b += rows([("d3", "e3", None, True), ("d5", "e5", None, True)])
    assert {(r["source_id"], r["target_id"]) for r in a + b if r["gold"]} == set(gold_pairs)
    stats = report._bucc_aligned({"a": a, "b": b}, {"a": 1.0, "b": 1.1})
    bucc = registry.get("bucc")
    for key, tp, predicted in (("a", 1, 2), ("b", 2, 2)):
        assert stats[key].sum(0).tolist() == [tp, predicted, 4]
        expected = 200 * tp / (predicted + 4)
        assert report.lang_metrics(bucc, stats[key].sum(0), 0)["f1"] == pytest.approx(expected)
    assert len(stats["a"]) == len(stats["b"])


# --- tables ---
def test_reproduction_table_carries_the_published_numbers():
    pub = report.published()
    assert pub["source"]["arxiv"] == "2005.13013"
    assert "best intermediate per task" in pub["source"]["note"]
    values = {
        ("none", "xnli", 1): {"en": {"accuracy": 50.0}, "de": {"accuracy": 40.0}},
        ("mnli", "xnli", 1): {"en": {"accuracy": 60.0}, "de": {"accuracy": 42.0}},
    }
    cells = [
        {"intermediate": i, "target": "xnli", "mean": m, "missing": ""}
        for i, m in (("none", 45), ("mnli", 51))
    ]
    xtreme, xtreme_r = benchmarks.get("xtreme"), benchmarks.get("xtreme-r")
    table = {r["target"]: r for r in report.reproduction("tiny", values, cells, pub, xtreme)}
    assert set(table) >= set(pub["tasks"])
    for target, p in pub["tasks"].items():
        assert table[target]["published XLM-R Large"] == p["xlmr_large"]
        assert table[target]["published X-STILTs"] == p["xstilts"]
        assert table[target]["model"] == "tiny"
    xnli = table["xnli"]
    assert (xnli["this run (none)"], xnli["this run (best intermediate)"]) == (45.0, 51.0)
    assert xnli["best intermediate"] == "mnli"
    assert xnli["diff (none)"] == pytest.approx(45.0 - 79.2)
    assert xnli["diff (best)"] == pytest.approx(51.0 - 80.4)
    assert table["pawsx"]["this run (none)"] is None
    assert "group: classification" in table
    # on XTREME-R only the tasks over XTREME's languages compare, and no XTREME group does
    on_r = [r["target"] for r in report.reproduction("tiny", values, cells, pub, xtreme_r)]
    assert on_r == ["xnli", "pawsx", "mlqa", "tydiqa"]


# --- the workflow, its report, and the report in a browser ---
@pytest.fixture
def study(tiny_study) -> Path:
    return tiny_study


def _folder(study: Path) -> Path:
    return study / "results" / "tiny" / "tiny" / "report"


def test_report_files_and_provenance(study):
    folder = _folder(study)
    for name in report.files(TARGETS):
        assert (folder / name).stat().st_size > 0, name
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["rule"] == "report_tables" and manifest["wildcards"] == {"model": "tiny"}
    assert set(manifest["outputs"]["results/tiny/tiny/report"]) == set(report.files(TARGETS)) - {
        "manifest.json"
    }
    assert all("manifest_sha256" in i for i in manifest["inputs"])


def test_reproduction_file_has_the_published_numbers(study):
    table = pq.read_table(_folder(study) / "tables" / "reproduction.parquet").to_pylist()
    by_target = {r["target"]: r for r in table}
    for target, p in report.published()["tasks"].items():
        assert by_target[target]["published XLM-R Large"] == p["xlmr_large"]
        assert by_target[target]["published X-STILTs"] == p["xstilts"]
    assert {r["model"] for r in table} == {"tiny"}
    assert "This run is model `tiny`" in (_folder(study) / "tables" / "reproduction.md").read_text()


def test_example_statistics_reproduce_the_run_metrics(study):
    rows = pq.read_table(study / "results" / "tiny" / "tiny" / "scores.parquet").to_pylist()
    values = report.reported_values(rows, benchmarks.XTREME)
    runs = {
        k: {
            "split": "test",
            "predictions": study
            / "results"
            / "tiny"
            / "tiny"
            / f"{k[0]}/{k[1]}/seed{k[2]}/predictions",
        }
        for k in values
    }
    for target in TARGETS:
        task = registry.get(target)
        stats = report.target_stats(target, runs, values)
        assert set(stats) == set(task.languages)
        for lang, per_run in stats.items():
            for key, examples in per_run.items():
                metrics = report.lang_metrics(task, examples.sum(0), len(examples))
                assert metrics[task.metric] == pytest.approx(values[key][lang][task.metric])


def test_matrix_has_seed_statistics_and_intervals(study):
    cells = list(csv.DictReader(open(_folder(study) / "tables" / "transfer_matrix.csv")))
    assert {(c["intermediate"], c["target"]) for c in cells} == {
        (i, t) for i in ("none", "mnli") for t in TARGETS
    }
    for c in cells:
        assert c["n_seeds"] == "2" and c["seeds"] == "1;2"
        if c["intermediate"] == "mnli":
            assert c["ci_method"] == "examples+seeds"
            assert float(c["ci_low"]) <= float(c["ci_high"])
    table = pq.read_table(_folder(study) / "tables" / "transfer_matrix.parquet").to_pylist()
    for c in table:
        assert c["sd"] == pytest.approx(statistics.stdev(_seed_scores(study, c)))


def _seed_scores(study: Path, cell: dict) -> list[float]:
    rows = pq.read_table(study / "results" / "tiny" / "tiny" / "scores.parquet").to_pylist()
    values = report.reported_values(rows, benchmarks.XTREME)
    task = registry.get(cell["target"])
    return [
        statistics.fmean(
            m[task.metric] for m in values[(cell["intermediate"], cell["target"], s)].values()
        )
        for s in (1, 2)
    ]


def test_per_language_table_matches_scores(study):
    rows = pq.read_table(study / "results" / "tiny" / "tiny" / "scores.parquet").to_pylist()
    table = list(csv.DictReader(open(_folder(study) / "tables" / "per_language_xnli.csv")))
    assert [r["intermediate"] for r in table] == ["none", "mnli"]
    assert list(table[0])[1:-1] == list(XNLI.languages)
    for r in table:
        for lang in XNLI.languages:
            seeds = [
                x["value"]
                for x in rows
                if (x["intermediate"], x["target"], x["split"], x["lang"], x["metric"])
                == (r["intermediate"], "xnli", "test", lang, "accuracy")
            ]
            assert len(seeds) == 2
            assert float(r[lang]) == pytest.approx(statistics.fmean(seeds), abs=0.005)


# Snakemake's report is a single-page app: it embeds every result as a data URI and shows one when
# its menu entries are clicked. DRIVER clicks through STEPS once the page has loaded: a menu entry
# by its text, or "eye:NAME" / "info:NAME" for the view / information button of the result NAME.
DRIVER = """<script>
const BUTTONS = {eye: "eye", info: "information-circle"};
function click(step) {
  const [button, name] = step.split(/:(.*)/s);
  if (name !== undefined) {
    const row = [...document.querySelectorAll("tr")].find(r => r.textContent.endsWith(name));
    return row.querySelector(`a[iconname="${BUTTONS[button]}"]`).click();
  }
  [...document.querySelectorAll("a, button")].find(a => a.textContent.trim() === step).click();
}
STEPS.forEach((step, i) => setTimeout(() => click(step), 1000 * (i + 1)));
</script>"""


def _browse(study: Path, steps: list[str], *args: str) -> str:
    """The DOM (or other output of ``args``) of the report after clicking through ``steps``."""
    page = study / f"report-{len(list(study.glob('report-*.html')))}.html"
    html = (study / "report.html").read_text()
    end = html.rindex("</body>")
    page.write_text(html[:end] + DRIVER.replace("STEPS", json.dumps(steps)) + html[end:])
    run = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={study / 'chromium-profile'}",
            "--virtual-time-budget=10000",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def _data_uri(dom: str, tag: str, mime: str) -> bytes:
    """The content of the first ``mime`` data URI that a ``tag`` of the page shows."""
    match = re.search(rf'<{tag} src="data:{mime};[^"]*?base64,([^"]+)"', dom)
    assert match, f"no <{tag}> showing {mime}"
    return base64.b64decode(match.group(1))


browser = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


@browser
def test_html_report_shows_the_heatmap(study):
    figure = _folder(study) / "figures" / "transfer_matrix.png"
    name = "report/figures/transfer_matrix.png"
    steps = ["1. Matrix", "heatmap", f"eye:{name}", f"info:{name}"]
    dom = _browse(study, steps, "--dump-dom")
    assert _data_uri(dom, "img", "image/png") == figure.read_bytes()
    assert "<p>Transfer matrix of model <strong>tiny</strong>: each cell" in dom  # its caption
    shot = study / "heatmap.png"
    _browse(study, steps[:3], f"--screenshot={shot}", "--window-size=1400,900")
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (900, 1400)
    content = pixels[:, 450:]  # right of the menu
    assert (content.min(-1) < 0.9).mean() > 0.05  # not a blank page
    # the diverging colour bar: saturated blue and red
    assert (content[..., 2] - content[..., 0] > 0.25).any()
    assert (content[..., 0] - content[..., 2] > 0.25).any()


@browser
def test_html_report_shows_the_training_curves(study):
    """Per trained target, one panel per intermediate task and seed, drawn from the curve files
    the fine-tuning jobs left beside their predictions."""
    figure = _folder(study) / "figures" / "curves_xnli.png"
    name = "report/figures/curves_xnli.png"
    steps = ["6. Training curves", "xnli", f"eye:{name}"]
    dom = _browse(study, steps, "--dump-dom")
    assert _data_uri(dom, "img", "image/png") == figure.read_bytes()
    assert "fine-tuned on one target: one panel per intermediate" in dom  # its caption
    runs = list((study / "results/tiny/tiny").glob("*/xnli/seed*/predictions/curves.jsonl"))
    assert len(runs) == 4  # none and mnli, seeds 1 and 2


@browser
def test_html_report_shows_the_matrix_table(study):
    steps = ["1. Matrix", "table", "eye:report/tables/transfer_matrix.html"]
    page = _data_uri(_browse(study, steps, "--dump-dom"), "iframe", "text/html").decode()
    cells = list(csv.DictReader(open(_folder(study) / "tables" / "transfer_matrix.csv")))
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    shown = [re.findall(r"<td>(.*?)</td>", r) for r in rows]  # body rows (the header is styled)
    assert [r[:2] for r in shown] == [[c["intermediate"], c["target"]] for c in cells]
    for row, cell in zip(shown, cells, strict=True):
        assert row[4:9] == [cell[k] for k in ("mean", "sd", "delta_vs_none", "ci_low", "ci_high")]
