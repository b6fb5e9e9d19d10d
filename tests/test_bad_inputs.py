"""Bad input that used to get through: each is an error naming the file (and line) or config
key, raised before any training."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xstilts import aggregate, provenance, record_checks, registry
from xstilts.config import read_yaml
from xstilts.errors import ConfigError
from xstilts.loaders import DataFormatError, load_hellaswag, load_xtreme_pair_tsv

ROOT = Path(__file__).resolve().parents[1]


def _hellaswag(path: Path, label: int) -> Path:
    row = {"ind": 1, "ctx_a": "A man", "ctx_b": "then", "endings": ["a", "b", "c", "d"]}
    path.write_text(json.dumps({**row, "label": label}) + "\n", encoding="utf-8")
    return path


def test_multiple_choice_label_out_of_range_names_file_and_line(tmp_path: Path) -> None:
    path = _hellaswag(tmp_path / "hellaswag_val.jsonl", 7)
    with pytest.raises(DataFormatError, match=rf"{path}:1: .*label 7 is out of range for 4"):
        load_hellaswag(path)
    assert load_hellaswag(_hellaswag(tmp_path / "ok.jsonl", 3))[0]["label"] == 3


def test_prepare_data_checks_a_choice_label_whatever_the_loader(tmp_path: Path) -> None:
    """A record from any reader (here built directly) is checked before it is saved."""
    task = registry.get("hellaswag")
    row = {"id": "x", "context": "c", "question": "q", "choices": ["a", "b"], "label": 2}
    with pytest.raises(DataFormatError, match=r"where: label 2 is out of range for its 2 choices"):
        record_checks.check_choice(task, row, "where")
    record_checks.check_choice(task, {**row, "label": -1}, "where")  # an unlabelled test row


def test_bom_at_the_start_of_a_tsv_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "dev-en.tsv"
    path.write_bytes("\ufeffA\tB\t1\n".encode())
    with pytest.raises(DataFormatError, match=rf"{path}:1: starts with a UTF-8 byte-order mark"):
        load_xtreme_pair_tsv(path)
    path.write_bytes(b"A\tB\t1\n")
    assert load_xtreme_pair_tsv(path)[0]["text_a"] == "A"


def test_a_key_written_twice_in_a_config_names_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("grid:\n  seeds: [1, 2]\n  targets: [xnli]\n  seeds: [3]\n")
    with pytest.raises(ConfigError, match=rf"{path}:4:3: key 'seeds' is written twice .*line 2"):
        read_yaml(path)


def _snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("snakemake")
    cmd = [str(exe), "-n", "--snakefile", str(ROOT / "workflow" / "Snakefile"), *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_snakemake_refuses_a_repeated_key_naming_the_file(tmp_path: Path) -> None:
    demo = (ROOT / "config" / "demo.yaml").read_text()
    path = tmp_path / "twice.yaml"
    path.write_text(demo + "\nseeds_note: 1\nseeds_note: 2\n")
    run = _snakemake("--configfile", str(path), cwd=tmp_path)
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert f"{path}:" in out and "key 'seeds_note' is written twice" in out


def _xstilts_run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "xstilts", "run", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_xstilts_run_names_a_missing_config_file_without_a_traceback(tmp_path: Path) -> None:
    """Snakemake reads --configfile before the workflow starts (a traceback for a missing file);
    `xstilts run` checks it first."""
    run = _xstilts_run("-n", "--configfile", "missing.yaml", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr == "xstilts run: error: config file missing.yaml does not exist\n"


def test_xstilts_run_names_the_file_and_line_of_a_yaml_error(tmp_path: Path) -> None:
    """Snakemake's own message ("Config file is not valid JSON or YAML") names neither."""
    (tmp_path / "bad.yaml").write_text("grid:\n  seeds: [1\n  targets: [xnli]\n")
    run = _xstilts_run("--cores", "1", "--configfiles=bad.yaml", cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("xstilts run: error: bad.yaml:3:"), run.stderr
    assert "not valid YAML" in run.stderr


def test_xstilts_run_hands_a_checked_command_line_to_snakemake(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text((ROOT / "config" / "demo.yaml").read_text())
    run = _xstilts_run("--configfile", "ok.yaml", "--version", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()[0].isdigit()  # Snakemake's version: the command line reached it


def test_aggregate_refuses_a_metrics_file_without_scores(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    metrics = run / "metrics.json"
    record = {"model": "m", "intermediate": "none", "task": "xnli", "seed": 1}
    metrics.write_text(json.dumps({**record, "results": {"test": {}}}))
    provenance.write_json(run / "manifest.json", {"run_id": "r1"})
    with pytest.raises(DataFormatError, match=rf"{metrics}: its results hold no score"):
        aggregate.collect([metrics])
    metrics.write_text(json.dumps({**record, "results": {"test": {"de": {"accuracy": 0.5}}}}))
    assert [r["value"] for r in aggregate.collect([metrics])] == [0.5]
