"""Several studies in one checkout: each has its own results, what they share is made once, and
running one never gives the other anything to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from conftest import REPO, tiny_study_config
from test_workflow import planned, snakemake


def _study(**data) -> dict:
    config = tiny_study_config(keep_target_models=False)
    config["grid"].update(intermediate=["none"], targets=["xnli"])
    config["data"]["synthetic"].update(data)
    return config


def _verify(workdir: Path, folder: str) -> str:
    exe = Path(sys.executable).with_name("xstilts")
    run = subprocess.run([str(exe), "verify", folder], cwd=workdir, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_two_studies_run_alternately_never_invalidate_each_other(tmp_path: Path) -> None:
    # "small" is named by its file; "big" names itself. They differ in xnli's data only.
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(_study(train_size=48)))
    (tmp_path / "other.yaml").write_text(yaml.safe_dump({**_study(), "study": "big"}))
    studies = {"small": "small.yaml", "big": "other.yaml"}
    for round_ in range(2):
        for name, config in studies.items():
            snakemake(tmp_path, "--configfile", config)
            for other, other_config in studies.items():
                if other != name and (round_ or other == "small"):
                    assert planned(tmp_path, other_config) == {}, (round_, name, other)
            assert "all intact" in _verify(tmp_path, f"results/{name}")
    assert "all intact" in _verify(tmp_path, "results")
    # each study's results are its own; the model both build from one spec is built once, and
    # the two data specs are prepared (and tokenised) apart
    for name in studies:
        assert (tmp_path / f"results/{name}/tiny/scores.parquet").is_file()
    assert len(list((tmp_path / "resources/models/tiny").iterdir())) == 1
    assert len(list((tmp_path / "resources/data/xnli").iterdir())) == 2
    assert len(list((tmp_path / "resources/cache/tiny").glob("*/xnli/*/len*"))) == 2


def test_a_folder_from_before_studies_gets_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "results/tiny").mkdir(parents=True)
    (tmp_path / "results/tiny/scores.parquet").write_bytes(b"")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(_study()))
    run = subprocess.run(
        ["snakemake", "-n", "-s", str(REPO / "workflow" / "Snakefile"), "--configfile", "s.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "results/tiny: laid out before studies were named" in out
    assert "results/<study>/" in out


def _panx_files(root: Path, langs: list[str]) -> None:
    """Original PAN-X token files (``lang:token<TAB>tag``) for ``langs`` only: English train, and
    every language's dev and test."""
    from xstilts import registry, synthetic

    labels = registry.get("panx").labels
    for lang in langs:
        splits = {"dev": 16, "test": 16, **({"train": 64} if lang == "en" else {})}
        for i, (split, n) in enumerate(splits.items()):
            rows = synthetic.tagging(lang, n, i, labels)
            lines = [
                "\n".join(f"{lang}:{w}\t{t}" for w, t in zip(r["tokens"], r["tags"], strict=True))
                for r in rows
            ]
            path = root / f"panx/panx_dataset/{lang}/{split}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")


def test_a_local_data_study_on_three_languages_says_it_is_a_subset(tmp_path: Path) -> None:
    import csv

    from xstilts import aggregate

    langs = ["en", "de", "fo"]  # fo (Faroese): a language the registry does not list for PAN-X
    _panx_files(tmp_path / "mine", langs)
    config = tiny_study_config(keep_target_models=False)
    config["grid"].update(intermediate=["none"], targets=["panx"])
    config["data"]["tasks"] = {
        "panx": {"source": "local", "root": str(tmp_path / "mine"), "languages": langs}
    }
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "--configfile", "own.yaml")
    results = tmp_path / "results/own/tiny"
    scores = results / "scores.parquet"
    rows = [r for r in _rows(scores) if r["split"] == "test"]
    assert {r["lang"] for r in rows} == set(langs)  # per-language results in its languages
    assert aggregate.read_benchmark(scores).subset == {"panx": tuple(langs)}
    with open(results / "transfer_matrix.csv") as f:
        (cell,) = list(csv.DictReader(f))
    assert cell["subset"] == "en de fo" and cell["missing"] == ""
    report = (results / "report/tables/transfer_matrix.md").read_text()
    assert "SUBSET of languages: panx in en de fo" in report
    xtreme = (results / "report/tables/xtreme_scores.md").read_text()
    assert "panx over a subset of its languages (no af ar" in xtreme
    with open(results / "report/tables/xtreme_scores.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert row["overall"] == "" and row["structured_prediction"] == ""
    assert "all intact" in _verify(tmp_path, "results/own")


def _rows(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def test_preflight_of_local_data_looks_only_for_the_studys_languages(tmp_path: Path) -> None:
    from xstilts import preflight
    from xstilts.config import validate
    from xstilts.study import Study

    _panx_files(tmp_path, ["en", "de"])
    config = tiny_study_config()
    config["grid"].update(intermediate=["none"], targets=["panx"])
    config["data"]["tasks"] = {
        "panx": {"source": "local", "root": str(tmp_path), "languages": ["en", "de", "fo"]}
    }
    spec = Study(validate(config)).data_source("panx")
    problems = [p.what for p in preflight._local_task_problems("panx", spec)]
    # fo's two files are missing, and nothing is asked of the 38 languages the study leaves out
    assert len(problems) == 2 and all("fo" in p for p in problems), problems


def test_the_analyses_read_no_cluster_or_training_setting() -> None:
    """The analyse rules' parameter is ``Study.analysis_config``: a cluster or hyper-parameter
    edit leaves it as it is, and the analyses plan the same files from it."""
    from xstilts import analysis
    from xstilts.config import load, validate
    from xstilts.study import Study

    for name in ("demo", "config"):
        raw = load(REPO / "config" / f"{name}.yaml")
        study, hp = Study(raw), raw.get("hparams", {})
        edited = {
            **raw,
            "cluster": {**raw["cluster"], "account": "another"},
            "hparams": {**hp, "all": {**hp.get("all", {}), "learning_rate": 3e-5}},
        }
        assert Study(validate(edited)).analysis_config() == study.analysis_config()
        own = Study(study.analysis_config())
        for n in analysis.ANALYSES:
            assert analysis.applicable(n, own) == analysis.applicable(n, study)
            if analysis.applicable(n, study):
                assert analysis.files(n, own) == analysis.files(n, study)
        built = [m for m in study.grid["models"] if study.is_built(m)]
        assert [own.model_ref(m) for m in built] == [study.model_ref(m) for m in built]


def test_a_cluster_edit_re_runs_no_analysis(tmp_path: Path) -> None:
    config = _study(train_size=48)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(config))
    snakemake(tmp_path, "--configfile", "s.yaml")
    assert (tmp_path / "results/s/analysis/volume/manifest.json").is_file()
    config["cluster"] = {"account": "another"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(config))
    assert planned(tmp_path, "s.yaml") == {}
