"""Hub loading against schema-faithful fixture mirrors (tests/hub_mirror.py), through the same
``datasets`` code path as on the cluster, and the typed hub specs of the registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import datasets
import pytest
import yaml
from hub_mirror import build_mirror, fixture_languages

from xstilts import hub, needs, read_hub, registry
from xstilts.formats.columns import ClassificationColumns
from xstilts.loaders import DataFormatError
from xstilts.prepare import prepare
from xstilts.splits import declared_gaps, split_name, wanted_splits

HUB_TASKS = [name for name, task in registry.TASKS.items() if task.hub]
SCHEMAS = Path(__file__).resolve().parents[1].parent / "shared" / "hub" / "hub_schemas.yaml"


@pytest.fixture(scope="session")
def mirror(shared_data, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hub-mirror")
    build_mirror(root)
    return root


def _spec(mirror, task, **kw) -> dict:
    return {
        "source": "hub",
        "mirror": str(mirror),
        "max_eval_examples": None,
        "languages": fixture_languages(task),
        **kw,
    }


def _copy(mirror: Path, tmp_path: Path, repo: str, revision: str = hub.MAIN) -> Path:
    """A mirror holding a private copy of one repository (to break it)."""
    dst = hub.dataset_dir(tmp_path / "mirror", repo, revision)
    shutil.copytree(hub.dataset_dir(mirror, repo, revision), dst)
    return dst


def _rewrite(folder: Path, config: str, split: str, fn) -> None:
    """Rewrite one split's parquet file, and the README's dataset_info, as the hub would."""
    path = next((folder / config).glob(f"{split}-*.parquet"))
    ds = fn(datasets.Dataset.from_parquet(str(path)))
    ds.to_parquet(str(path))
    readme = folder / "README.md"
    _, front, body = readme.read_text().split("---\n", 2)
    card = yaml.safe_load(front)
    infos = card["dataset_info"]
    for info in [infos] if isinstance(infos, dict) else infos:
        if info.get("config_name", "default") == config:
            info["features"] = datasets.DatasetInfo(features=ds.features)._to_yaml_dict()[
                "features"
            ]
            for entry in info["splits"]:
                if entry["name"] == split:
                    entry["num_examples"] = len(ds)
    readme.write_text(f"---\n{yaml.safe_dump(card, sort_keys=False)}---\n{body}")


def test_every_registry_hub_source_has_a_fixture(mirror):
    """A hub source the registry declares without a fixture config fails here."""
    for name in HUB_TASKS:
        task = registry.restrict(registry.get(name), fixture_languages(name))
        used = []
        for split, lang in wanted_splits(task):
            for source in hub.sources_for(task.hub, lang):
                if split not in source.splits:
                    continue
                used.append(source)
                folder = hub.dataset_dir(mirror, source.repo, source.revision)
                configs = read_hub.readme_configs(folder)
                config, hub_split = source.config_name(lang), source.splits[split]
                if source.revision == hub.CONVERT:
                    assert (folder / config / hub_split).is_dir(), (name, source.repo, config)
                else:
                    assert hub_split in configs.get(config, {}), (name, source.repo, config)
        assert all(s in used for s in task.hub), name  # every source is exercised


def _schema_entry(repo: str, config: str, schemas: dict) -> dict:
    """The hub_schemas.yaml entry describing ``config`` of ``repo``."""
    for key, entry in schemas[repo].items():
        pattern = entry.get("pattern")
        names = [pattern.format(lang=x) for x in entry.get("languages", [])] if pattern else [key]
        if config in names:
            return entry
    raise AssertionError(f"{repo} config {config} not in hub_schemas.yaml")


def test_registry_columns_and_labels_follow_hub_schemas(mirror):
    """Every column a registry spec names, and every ClassLabel name set, is the hub's
    (hub_schemas.yaml) and the fixture's."""
    if not SCHEMAS.is_file():
        pytest.skip(f"{SCHEMAS} not found")
    schemas = yaml.safe_load(SCHEMAS.read_text())
    for name in HUB_TASKS:
        task = registry.get(name)
        for source in task.hub:
            if source.repo not in schemas:  # a community mirror HUB.md could not describe
                assert source.unverified, (name, source.repo)
                continue
            lang = (source.languages or fixture_languages(name))[0]
            folder = hub.dataset_dir(mirror, source.repo, source.revision)
            config = source.config_name(lang)
            features = _schema_entry(source.repo, config, schemas)["features"]
            if source.revision == hub.CONVERT:
                files = sorted((folder / config).glob("*/*.parquet"))
            else:
                files = sorted(folder.glob(f"{source.folder(lang)}/*.parquet"))
            fixture = datasets.Dataset.from_parquet(str(files[0]))
            for column in source.columns.columns():
                assert column in fixture.column_names, (name, column)
                # hub_schemas.yaml leaves out some SQuAD-style answers structs
                assert column in features or column == "answers", (name, column)
            assert set(fixture.column_names) >= set(features), (name, config)
            for column in source.columns.label_columns():
                spec = features.get(column)
                if isinstance(spec, dict) and ("class_label" in spec or "list_class_label" in spec):
                    hub_names = spec.get("class_label") or spec["list_class_label"]
                    feature = fixture.features[column]
                    assert list(getattr(feature, "feature", feature).names) == hub_names
                    if task.format != "multiple_choice":
                        label_map = getattr(source.columns, "label_map", None) or {}
                        assert {label_map.get(n, n) for n in hub_names} == set(task.labels)


@pytest.mark.parametrize("name", HUB_TASKS)
def test_every_hub_task_prepares_from_the_mirror(mirror, tmp_path, name):
    info = prepare(name, _spec(mirror, name), tmp_path / name)
    task = registry.restrict(registry.get(name), fixture_languages(name))
    assert info["splits_missing"] == []
    assert set(info["rows"]) == {split_name(*s) for s in wanted_splits(task)}
    assert all(n > 0 for n in info["rows"].values())


def test_hub_and_local_give_the_same_records(mirror, shared_data, tmp_path):
    local = {"source": "local", "root": str(shared_data), "max_eval_examples": None}
    cases = {
        "xnli": ("validation.de", {"test": "xnli/dev-{lang}.tsv"}),
        "xquad": ("test.zh", {}),
        "tatoeba": ("test.ja", {}),
        "udpos": ("test.de", {"validation": "udpos/{lang}_*-ud-test.conllu"}),
    }
    for name, (split, files) in cases.items():
        langs = [lang for lang in fixture_languages(name) if lang in registry.get(name).languages]
        h = prepare(name, _spec(mirror, name, languages=langs), tmp_path / f"{name}-hub")
        spec = {**local, "files": files, "languages": langs}
        if name == "udpos":  # the hub's rows keep the subtokens of multiword tokens
            spec["multiword"] = "subtokens"
        loc = prepare(name, spec, tmp_path / f"{name}-local")
        assert h["rows"][split] == loc["rows"][split], name
        a = datasets.load_from_disk(str(tmp_path / f"{name}-hub"))[split]
        b = datasets.load_from_disk(str(tmp_path / f"{name}-local"))[split]
        keys = [k for k in a.column_names if k not in ("id", "title")]  # XQuAD: no title

        def strip(value, qa=name == "xquad"):  # google/xtreme strips QA text; files do not
            return value.strip() if isinstance(value, str) and qa else value

        rows_a = [{k: r[k] for k in keys} for r in a]
        assert rows_a == [{k: strip(r[k]) for k in keys} for r in b], name


def test_labels_are_mapped_by_classlabel_names(mirror, tmp_path):
    """A hub copy whose ClassLabel lists the names in another order gives the same labels."""
    baseline = read_hub.load_hub(registry.get("mnli"), _spec(mirror, "mnli"))
    folder = _copy(mirror, tmp_path, "nyu-mll/glue")
    order = ["contradiction", "entailment", "neutral"]

    def reorder(ds):
        old = ds.features["label"].names
        ds = ds.map(lambda r: {"label": order.index(old[r["label"]])})
        return ds.cast_column("label", datasets.ClassLabel(names=order))

    for split in ("train", "validation_matched"):
        _rewrite(folder, "mnli", split, reorder)
    assert read_hub.load_hub(registry.get("mnli"), _spec(tmp_path / "mirror", "mnli")) == baseline


def test_integer_labels_without_classlabel_names_are_an_error(mirror, tmp_path):
    folder = _copy(mirror, tmp_path, "nyu-mll/glue")
    for split in ("train", "validation_matched"):
        _rewrite(folder, "mnli", split, lambda ds: ds.cast_column("label", datasets.Value("int64")))
    with pytest.raises(DataFormatError, match=r"'label' holds integers .*without ClassLabel"):
        read_hub.load_hub(registry.get("mnli"), _spec(tmp_path / "mirror", "mnli"))


def test_izhx_tag_outside_the_declared_order_is_an_error_naming_file_and_row(mirror, tmp_path):
    """izhx/xtreme-r-udpos has integer tags and no ClassLabel: an index past the declared UPOS
    order (17 names) fails naming the parquet file and the row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = _copy(mirror, tmp_path, "izhx/xtreme-r-udpos")
    path = folder / "lt" / "test.parquet"
    rows = pq.read_table(path).to_pylist()
    rows[2]["pos_tags"][0] = len(registry.UPOS_LABELS)
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(path)), path)
    task = registry.restrict(registry.get("udpos"), ["en", "lt"])
    spec = _spec(tmp_path / "mirror", "udpos", languages=["en", "lt"])
    shutil.copytree(
        hub.dataset_dir(mirror, "google/xtreme", hub.MAIN),
        hub.dataset_dir(tmp_path / "mirror", "google/xtreme", hub.MAIN),
    )
    with pytest.raises(DataFormatError, match=r"config 'lt' .*file lt/test.parquet\) row 2: .*17"):
        read_hub.load_hub(task, spec)


def test_label_zero_is_a_label(mirror, tmp_path):
    """CosmosQA answers that are the first choice stay in (the old int(label or -1) bug)."""
    rows = read_hub.load_hub(registry.get("cosmosqa"), _spec(mirror, "cosmosqa"))
    zero = sum(r["label"] == 0 for r in rows["validation.en"])
    assert zero > 0 and all(r["label"] >= 0 for r in rows["validation.en"])


def test_placeholder_label_outside_unlabelled_splits_is_an_error(mirror, tmp_path):
    folder = _copy(mirror, tmp_path, "nyu-mll/glue")
    _rewrite(
        folder,
        "mnli",
        "validation_matched",
        lambda ds: ds.map(lambda r, i: {"label": -1 if i == 3 else r["label"]}, with_indices=True),
    )
    with pytest.raises(DataFormatError, match=r"task mnli split validation\.en .*row 3"):
        read_hub.load_hub(registry.get("mnli"), _spec(tmp_path / "mirror", "mnli"))
    folder = _copy(mirror, tmp_path, "Rowan/hellaswag")
    _rewrite(folder, "data", "validation", lambda ds: ds.map(lambda r: {"label": ""}))
    with pytest.raises(DataFormatError, match=r"task hellaswag split validation\.en .*row 0"):
        read_hub.load_hub(registry.get("hellaswag"), _spec(tmp_path / "mirror", "hellaswag"))


def test_declared_unlabelled_rows_are_dropped_and_counted(mirror, tmp_path):
    info = prepare("anli_plus", _spec(mirror, "anli_plus"), tmp_path / "anli")
    assert info["unlabelled_rows_dropped"] == {"train.en": 1}  # SNLI's -1 pair


def test_stripped_test_answers_say_where_gold_comes_from(mirror, tmp_path):
    folder = _copy(mirror, tmp_path, "google/xtreme")
    _rewrite(
        folder,
        "MLQA.de.de",
        "test",
        lambda ds: ds.map(lambda r: {"answers": {"answer_start": [], "text": []}}),
    )
    with pytest.raises(DataFormatError, match=r"split test\.de .*MLQA_V1\.zip"):
        read_hub.load_hub(registry.get("mlqa"), _spec(tmp_path / "mirror", "mlqa"))


def test_missing_repo_config_split_column_are_errors_naming_where(mirror, tmp_path):
    task = registry.get("xnli")
    with pytest.raises(
        DataFormatError,
        match=r"facebook/xnli@main.*not in the hub mirror.*"
        r"looked for .*datasets/facebook/xnli/main",
    ):
        read_hub.load_hub(task, _spec(tmp_path / "empty", "xnli"))
    folder = _copy(mirror, tmp_path, "facebook/xnli")
    readme = folder / "README.md"
    text = readme.read_text()
    readme.write_text(text.replace("config_name: sw\n", "config_name: swahili\n"))
    with pytest.raises(DataFormatError, match=r"config 'sw' not found in .*README\.md"):
        read_hub.load_hub(task, _spec(tmp_path / "mirror", "xnli"))
    readme.write_text(text.replace("split: test\n    path: de/", "split: testing\n    path: de/"))
    with pytest.raises(DataFormatError, match=r"config 'de' split 'test': split 'test' not found"):
        read_hub.load_hub(task, _spec(tmp_path / "mirror", "xnli"))
    readme.write_text(text)
    for split in ("train", "validation", "test"):
        _rewrite(folder, "fr", split, lambda ds: ds.rename_column("hypothesis", "hypo"))
    with pytest.raises(DataFormatError, match=r"config 'fr' .*\['hypothesis'\] missing"):
        read_hub.load_hub(task, _spec(tmp_path / "mirror", "xnli"))


def test_script_only_repository_is_an_error_naming_the_parquet_route(mirror):
    spec = _spec(mirror, "cosmosqa", revisions={"allenai/cosmos_qa": "main"})
    with pytest.raises(
        DataFormatError,
        match=r"cosmos_qa\.py is a loading script.*"
        r"refs/convert/parquet",
    ):
        read_hub.load_hub(registry.get("cosmosqa"), spec)


def test_declared_gaps_and_one_evaluation_split_per_language():
    udpos = registry.get("udpos")
    gaps = declared_gaps(udpos)
    assert set(gaps) == {f"validation.{lang}" for lang in ("kk", "th", "tl", "yo")}
    wanted = {split_name(*s) for s in wanted_splits(udpos)}
    assert not set(gaps) & wanted and "test.kk" in wanted
    xquad = {split_name(*s) for s in wanted_splits(registry.get("xquad"))}
    assert xquad == {f"test.{lang}" for lang in registry.XQUAD_LANGS}
    tydiqa = {split_name(*s) for s in wanted_splits(registry.get("tydiqa"))}
    assert {s for s in tydiqa if s.startswith("validation")} == {"validation.en"}


def test_typos_in_hub_specs_fail_at_construction():
    cols = ClassificationColumns(text_a="premise")
    with pytest.raises(ValueError, match="splits keys"):
        hub.HubSource("nyu-mll/glue", "mnli", cols, {"tset": "test"})
    with pytest.raises(ValueError, match="namespaced"):
        hub.HubSource("glue", "mnli", cols, {"train": "train"})
    with pytest.raises(ValueError, match="unknown slots"):
        hub.HubSource("google/xtreme", "PAN-X.{lnag}", cols, {"train": "train"})
    with pytest.raises(TypeError):
        ClassificationColumns(text_aa="premise")
    source = hub.HubSource("nyu-mll/glue", "mnli", cols, {"train": "train"})
    with pytest.raises(TypeError, match="TaggingColumns"):
        registry.Task("x", "tagging", "target", ("f1",), hub=(source,))


def test_requirements_and_mirror_paths():
    assert hub.dataset_dir("m", "allenai/cosmos_qa", hub.CONVERT) == Path(
        "m/datasets/allenai/cosmos_qa/refs--convert--parquet"
    )
    assert hub.model_dir("m", "FacebookAI/xlm-roberta-large", "main") == Path(
        "m/models/FacebookAI/xlm-roberta-large/main"
    )
    (req,) = needs.requirements("udpos")
    assert (req.repo, req.revision) == ("google/xtreme", "main")
    assert "udpos.German/*" in req.allow_patterns and "README.md" in req.allow_patterns
    (cosmos,) = needs.requirements("cosmosqa")
    assert cosmos.allow_patterns == ("default/train/*.parquet", "default/validation/*.parquet")
    assert needs.requirements("bucc") == []


def test_xtreme_r_extra_languages_come_from_their_own_repositories(mirror, tmp_path):
    """UD-POS lt and PAN-X pl are read from izhx/xtreme-r-udpos and WikiANN, the others from
    google/xtreme; a mirror without the extra repository fails naming it, for that language."""
    izhx = hub.dataset_dir(mirror, "izhx/xtreme-r-udpos", hub.MAIN)
    rows = read_hub.load_hub(
        registry.restrict(registry.get("udpos"), ["en", "de", "lt"]), _spec(mirror, "udpos")
    )
    lt = datasets.Dataset.from_parquet(str(izhx / "lt" / "test.parquet"))
    assert [r["tokens"] for r in rows["test.lt"]] == lt["tokens"]
    # integer tags without ClassLabel names, read in the registry's declared order
    assert [registry.UPOS_LABELS[i] for i in lt[0]["pos_tags"]] == rows["test.lt"][0]["tags"]
    xtreme = hub.dataset_dir(mirror, "google/xtreme", hub.MAIN)
    de = datasets.Dataset.from_parquet(str(next(xtreme.glob("udpos.German/test-*.parquet"))))
    assert [r["tokens"] for r in rows["test.de"]] == de["tokens"]
    assert "validation.lt" not in rows and "validation.lt" in declared_gaps(
        registry.restrict(registry.get("udpos"), ["en", "lt"])
    )
    reqs = {r.repo: r.allow_patterns for r in needs.requirements("panx", ["en", "af", "pl"])}
    assert reqs["unimelb-nlp/wikiann"] == ("pl/test/*.parquet", "pl/validation/*.parquet")
    assert "PAN-X.pl/*" not in reqs["google/xtreme"] and "PAN-X.af/*" in reqs["google/xtreme"]
    _copy(mirror, tmp_path, "google/xtreme")
    spec = _spec(tmp_path / "mirror", "panx")
    task = registry.restrict(registry.get("panx"), ["en", "af"])
    assert set(read_hub.load_hub(task, spec)) == {
        "train.en",
        "validation.en",
        "validation.af",
        "test.en",
        "test.af",
    }
    with pytest.raises(
        DataFormatError, match=r"unimelb-nlp/wikiann@refs/convert/parquet config 'pl'"
    ):
        read_hub.load_hub(registry.restrict(registry.get("panx"), ["en", "pl"]), spec)
    with pytest.raises(DataFormatError, match=r"languages \['xx'\] are not the task's"):
        registry.restrict(registry.get("panx"), ["en", "xx"])


def test_multiple_choice_templates_and_squad_pairs_from_the_mirror(mirror):
    """COPA/XCOPA and SIQa get XTREME-R's first segment; SQuAD rows become LAReQA pairs."""
    copa = read_hub.load_hub(registry.get("copa"), _spec(mirror, "copa"))
    first = copa["train.en"][0]
    assert first["context"].endswith(" What was the cause?") and first["question"] == ""
    assert len(first["choices"]) == 2 and first["label"] in (0, 1)
    siqa = read_hub.load_hub(registry.get("siqa"), _spec(mirror, "siqa"))
    assert {r["label"] for r in siqa["validation.en"]} == {0, 1, 2}  # from "1".."3"
    dropped: dict = {}
    pairs = read_hub.load_hub(
        registry.get("squad_v1_retrieval"), _spec(mirror, "squad_v1_retrieval"), dropped
    )
    squad = read_hub.load_hub(registry.get("squad_v1"), _spec(mirror, "squad_v1"))
    assert len(pairs["train.en"]) + dropped.get("train.en", 0) == len(squad["train.en"])
    assert all(p["candidate"] and p["query"] for p in pairs["train.en"])
    mixed = read_hub.load_hub(registry.get("mnli@translate-train-de"), _spec(mirror, "mnli"))
    assert set(mixed) == {"train.de", "validation.en"}


def _prepare_cli(tmp_path: Path, spec: dict, task: str):
    import json
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf-home"),  # nothing cached: only the mirror can serve
    }
    cmd = [sys.executable, "-m", "xstilts", "prepare-data", "--task", task]
    cmd += ["--spec", json.dumps(spec), "--out", str(tmp_path / "out" / task)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_prepare_data_job_reads_only_the_mirror_offline(mirror, tmp_path):
    done = _prepare_cli(tmp_path, _spec(mirror, "pawsx"), "pawsx")
    assert done.returncode == 0, done.stderr
    prepared = datasets.load_from_disk(str(tmp_path / "out" / "pawsx"))
    assert len(prepared["test.ko"]) == 200 and set(prepared["test.ko"]["label"]) == {0, 1}
    done = _prepare_cli(tmp_path, _spec(tmp_path / "no-mirror", "pawsx"), "pawsx")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "google/xtreme@main" in done.stderr and "no-mirror/datasets/google/xtreme/main" in (
        done.stderr
    )


def test_a_mirror_with_only_the_configs_a_grid_needs_loads(mirror, tmp_path):
    """The download fetches only the grid's configs: the README's first config may be absent."""
    folder = _copy(mirror, tmp_path, "google/xtreme")
    first = next(iter(read_hub.readme_configs(folder)))
    shutil.rmtree(folder / first)
    spec = _spec(tmp_path / "mirror", "pawsx", languages=["en", "ko"])
    assert first not in ("PAWS-X.en", "PAWS-X.ko")
    rows = read_hub.load_hub(registry.restrict(registry.get("pawsx"), ["en", "ko"]), spec)
    assert len(rows["test.ko"]) == 200


def test_classlabel_names_from_the_readme_when_parquet_has_no_metadata(mirror, tmp_path):
    """Parquet written without the 'huggingface' metadata: the card's dataset_info names rule."""
    import pyarrow.parquet as pq

    baseline = read_hub.load_hub(registry.get("mnli"), _spec(mirror, "mnli"))
    folder = _copy(mirror, tmp_path, "nyu-mll/glue")
    for path in (folder / "mnli").glob("*.parquet"):
        table = pq.read_table(path)
        pq.write_table(table.replace_schema_metadata(None), path)
        assert b"huggingface" not in (pq.read_schema(path).metadata or {})
    assert read_hub.load_hub(registry.get("mnli"), _spec(tmp_path / "mirror", "mnli")) == baseline


def test_reports_show_the_declared_gaps():
    from xstilts import report

    assert "validation for kk, th, tl, yo" in report.gap_note("udpos")
    assert report.gap_note("xnli") == ""
    table = report.markdown([{"lang": "de", "f1": 1.0}], "udpos", report.gap_note("udpos"))
    assert "Declared absent: validation for kk, th, tl, yo" in table
