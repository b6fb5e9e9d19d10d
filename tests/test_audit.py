"""explain and verify on a tiny study run for real by Snakemake."""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys

import pyarrow.parquet as pq
import pytest

from xstilts import audit

pytestmark = pytest.mark.slow
RUN = "results/tiny/tiny/mnli/xnli/seed1"


@pytest.fixture
def study(tiny_study):
    return tiny_study


@pytest.fixture
def copy(study, tmp_path):
    """A private copy of the study, to damage."""
    out = tmp_path / "study"
    shutil.copytree(study, out)
    return out


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run a subcommand as the CLI would: (exit status, stdout, stderr)."""
    ap = argparse.ArgumentParser()
    audit.register(ap.add_subparsers(dest="command"))
    args = ap.parse_args(argv)
    try:
        args.func(args)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
        print(e.code, file=sys.stderr)
    out = capsys.readouterr()
    return code, out.out, out.err


def manifest(workdir, path: str) -> dict:
    return json.loads((workdir / path / "manifest.json").read_text())


def test_explain_prints_the_whole_chain(study, capsys):
    code, out, _ = cli(
        [
            "explain",
            str(study / "results/tiny/tiny/transfer_matrix.csv"),
            "--row",
            "mnli",
            "--col",
            "xnli",
        ],
        capsys,
    )
    assert code == 0
    for rule in ("aggregate", "score", "finetune", "train_intermediate", "tokenize"):
        assert f"{rule} [" in out
    assert "prepare_data [" in out and "build_model [" in out
    with open(study / "results/tiny/tiny/transfer_matrix.csv") as f:
        (cell,) = [
            c for c in csv.DictReader(f) if (c["intermediate"], c["target"]) == ("mnli", "xnli")
        ]
    assert f"mnli -> xnli: cell (test split): mean {float(cell['mean']):.4f}" in out.splitlines()[0]
    evaluate = manifest(study, RUN)
    assert f"git        {evaluate['git']['commit'] or 'unknown commit'}" in out
    assert f"lock       {evaluate['lock']['file']} sha256 {evaluate['lock']['sha256']}" in out
    for path in (RUN, f"{RUN}/model", "results/tiny/tiny/intermediate/mnli/seed1/encoder"):
        assert f"log        {manifest(study, path)['log']}" in out
    assert f"{data_dir(study, 'mnli')}/manifest.json" in out
    assert "summary.fingerprints" in out


def test_explain_json_and_language_value(study, capsys):
    scores = study / "results/tiny/tiny/scores.parquet"
    code, out, _ = cli(
        ["explain", str(scores), "--row", "mnli", "--col", "xnli", "--lang", "de", "--json"],
        capsys,
    )
    assert code == 0
    result = json.loads(out)
    chain = result["chain"]
    assert [n["depth"] for n in chain][:4] == [0, 1, 2, 3]
    rules = [n["record"]["rule"] for n in chain if "record" in n]
    assert rules[:4] == ["aggregate", "score", "finetune", "train_intermediate"]
    assert {"tokenize", "prepare_data", "build_model"} <= set(rules)
    rows = [
        r
        for r in pq.read_table(scores).to_pylist()
        if (r["intermediate"], r["target"], r["lang"], r["split"]) == ("mnli", "xnli", "de", "test")
    ]
    values = result["value"]["values"]  # one per seed
    assert len(values) == len(rows) == 2
    pairs = sorted((v["value"], v["metric"]) for v in values)
    assert pairs == sorted((r["value"], r["metric"]) for r in rows)
    runs = [manifest(study, RUN.replace("seed1", f"seed{s}"))["run_id"] for s in (1, 2)]
    assert sorted(result["value"]["run_ids"]) == sorted(runs)


def test_explain_seeds_average_to_the_matrix_cell(study, capsys):
    """The study has two seeds: each seed's score, explained, averages to the matrix's cell."""
    scores = []
    for seed in ("1", "2"):
        argv = ["explain", str(study / "results/tiny/tiny"), "--row", "none", "--col", "udpos"]
        code, out, _ = cli([*argv, "--seed", seed, "--json"], capsys)
        assert code == 0
        scores.append(json.loads(out)["value"]["score"])
    cell = audit.cell_value(
        study / "results/tiny/tiny", study / "results/tiny/tiny", "none", "udpos", None, None
    )
    assert scores[0] != scores[1]
    assert sum(scores) / 2 == pytest.approx(cell["mean"], abs=1e-4)


@pytest.mark.parametrize(
    ("row", "col", "missing", "available"),
    [
        ("squad_v1", "xnli", "intermediate 'squad_v1'", "mnli, none"),
        ("mnli", "pawsx", "target 'pawsx'", "udpos, xnli"),
    ],
)
def test_explain_missing_cell(study, capsys, row, col, missing, available):
    matrix = study / "results/tiny/tiny/transfer_matrix.csv"
    code, out, err = cli(["explain", str(matrix), "--row", row, "--col", col], capsys)
    assert code != 0 and out == ""
    assert str(matrix) in err and missing in err and available in err


def test_verify_passes_on_a_fresh_run(copy, capsys):
    code, out, _ = cli(["verify", str(copy / "results")], capsys)
    assert code == 0
    assert out.startswith("verified ") and out.strip().endswith("all intact")


def flip_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def data_dir(workdir, task: str) -> str:
    """The one prepared-data folder of ``task`` (keyed by its data spec)."""
    (folder,) = (workdir / "resources/data" / task).iterdir()
    return str(folder.relative_to(workdir))


def test_verify_names_a_changed_metrics_file(copy, capsys):
    flip_byte(copy / RUN / "metrics.json")
    code, out, _ = cli(["verify", str(copy / "results")], capsys)
    assert code == 1
    assert out.splitlines() == [f"CHANGED {RUN}/metrics.json (manifest: {RUN}/manifest.json)"]


def test_verify_names_a_changed_data_file(copy, capsys):
    data = data_dir(copy, "mnli")
    name = next(n for n in manifest(copy, data)["outputs"][data] if n.endswith(".arrow"))
    flip_byte(copy / data / name)
    code, out, _ = cli(["verify", str(copy / "results")], capsys)
    assert code == 1
    assert f"CHANGED {data}/{name} (manifest: {data}/manifest.json)" in out


def test_verify_reports_untracked_missing_and_stale(copy, capsys):
    (copy / "results/tiny/tiny/notes.txt").write_text("mine")
    (copy / f"{RUN}/.metrics.tmp99.json").write_text("{}")
    (copy / f"{RUN}/predictions/test.de.jsonl").unlink()
    data_manifest = copy / data_dir(copy, "xnli") / "manifest.json"
    data_manifest.write_text(data_manifest.read_text() + "\n")
    code, out, _ = cli(["verify", str(copy / "results")], capsys)
    assert code == 1
    lines = out.splitlines()
    assert "UNTRACKED results/tiny/tiny/notes.txt" in lines
    assert f"UNTRACKED {RUN}/.metrics.tmp99.json (leftover temporary file)" in lines
    missing = f"MISSING {RUN}/predictions/test.de.jsonl (manifest: {RUN}/predictions/manifest.json)"
    assert missing in lines
    stale = f"input {data_dir(copy, 'xnli')} (its manifest changed)"
    assert f"STALE-INPUT manifest {RUN}/predictions/manifest.json {stale}" in lines
