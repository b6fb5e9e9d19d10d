"""A researcher's own task, declared in one file at test time (config ``task_files``), runs
through the real workflow: a classification target with an XNLI-shaped hub repository (one
parquet config per language), ten languages, in a benchmark of its own. No module of the
package knows it: download (verifying the mirror), prepare, finetune, score, aggregate.
"""

from __future__ import annotations

import csv
import json
import os

import pytest
import yaml
from conftest import SHARED_DATA, snakemake, tiny_study_config
from hub_mirror import write_source

from xstilts import benchmarks, config, registry

LANGS = tuple("ar bg de el en es fr hi ru zh".split())
TASK_FILE = f'''"""My NLI target: its hub copy, its ten languages, my benchmark."""
from xstilts import benchmarks, registry
from xstilts.formats.columns import ClassificationColumns
from xstilts.hub import HubSource

registry.register(
    registry.Task(
        name="my_nli",
        format="classification",
        role="target",
        metrics=("accuracy",),
        languages={LANGS!r},
        labels=registry.NLI_LABELS,
        train_task="my_nli",
        hub=(
            HubSource(
                "my-lab/my-nli",
                "{{lang}}",
                ClassificationColumns(text_a="premise", text_b="hypothesis"),
                {{"train": "train", "validation": "validation", "test": "test"}},
            ),
        ),
        train_examples=200,
    )
)
benchmarks.register(benchmarks.Benchmark("my-bench", groups={{"nli": ("my_nli",)}}))
'''


@pytest.fixture
def fresh_registry(monkeypatch):
    """The registry and benchmarks as a fresh process has them: declarations end with the test."""
    monkeypatch.setattr(registry, "TASKS", dict(registry.TASKS))
    monkeypatch.setattr(registry, "_DECLARED", [])
    monkeypatch.setattr(benchmarks, "BENCHMARKS", dict(benchmarks.BENCHMARKS))
    monkeypatch.setenv(registry.TASK_FILES_ENV, "")  # recorded, so the test's own is undone
    monkeypatch.delenv(registry.TASK_FILES_ENV)


def _records(lang: str) -> list[dict]:
    """The XNLI slice of ``lang`` as classification records."""
    lines = (SHARED_DATA / f"xnli/dev-{lang}.tsv").read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line]
    return [{"text_a": a, "text_b": b, "label": label} for a, b, label in rows]


@pytest.mark.slow
def test_a_task_declared_in_one_file_runs_through_the_workflow(
    tmp_path, shared_data, fresh_registry
):
    task_file = tmp_path / "my_tasks.py"
    task_file.write_text(TASK_FILE)
    registry.declare([task_file])  # as the workflow does: the mirror is built from it
    mirror = tmp_path / "mirror"
    records = {lang: {"validation": _records(lang), "test": _records(lang)} for lang in LANGS}
    records["en"]["train"] = _records("en")
    write_source(mirror, "my_nli", records)

    study = tiny_study_config(
        task_files=[str(task_file)],
        benchmark="my-bench",
        grid={"models": ["tiny"], "intermediate": ["none"], "targets": ["my_nli"], "seeds": [1]},
        data={"source": "hub", "max_eval_examples": 8},
        hub={"mirror": str(mirror)},
    )
    study["hparams"]["all"].update(max_steps=2, eval_steps=2, max_train_examples=32)
    workdir = tmp_path / "study"
    workdir.mkdir()
    (workdir / "study.yaml").write_text(yaml.safe_dump(study))
    run = snakemake(workdir, "results/study/tiny/transfer_matrix.csv", configfile="study.yaml")
    log = run.stdout + run.stderr
    for rule in ("download", "prepare_data", "finetune", "score", "aggregate"):
        assert f"rule {rule}:" in log or f"localrule {rule}:" in log, rule

    results = workdir / "results/study/tiny"
    metrics = json.loads((results / "none/my_nli/seed1/metrics.json").read_text())["results"]
    assert set(metrics["test"]) == set(LANGS)
    (cell,) = csv.DictReader(open(results / "transfer_matrix.csv"))
    assert cell["target"] == "my_nli" and cell["intermediate"] == "none"


def test_a_failing_task_file_is_a_config_error_naming_it(tmp_path, fresh_registry):
    broken = tmp_path / "broken.py"
    broken.write_text("from xstilts import registry\nregistry.register(None.name)\n")
    with pytest.raises(config.ConfigError, match=f"task_files.*{broken}.*AttributeError"):
        config.validate({**tiny_study_config(), "task_files": [str(broken)]})


def test_a_task_file_declaring_a_known_name_is_an_error_naming_it(tmp_path, fresh_registry):
    clash = tmp_path / "clash.py"
    clash.write_text(
        "from dataclasses import replace\nfrom xstilts import registry\n"
        "registry.register(replace(registry.get('xnli')))\n"
    )
    with pytest.raises(registry.TaskFileError, match=f"{clash}.*'xnli' is already declared"):
        registry.declare([clash])
    assert registry.TASK_FILES_ENV not in os.environ  # not passed on to any job
