"""Load and validate a study config (light imports only: the Snakefile uses it to plan); the
``Study`` (``xstilts.study``) answers the questions asked of a valid one.

Validation happens before any job runs and names the offending key and what was expected.
"""

from __future__ import annotations

import copy
import string
from importlib import resources
from pathlib import Path

import yaml

from xstilts import registry
from xstilts.errors import ConfigError
from xstilts.study import Study

SCHEMA = resources.files("xstilts.workflow") / "schemas" / "config.schema.yaml"


def load_schema() -> dict:
    from xstilts import benchmarks

    schema = yaml.safe_load(SCHEMA.read_text())
    kinds = {
        "intermediate": registry.intermediate_choices(),
        "target": registry.target_tasks(),
        "task": sorted(registry.TASKS),
        "benchmark": list(benchmarks.BENCHMARKS),
    }

    def fill(node):
        if isinstance(node, dict):
            out = {k: fill(v) for k, v in node.items() if k != "x-registry"}
            if "x-registry" in node:
                out["enum"] = kinds[node["x-registry"]]
            return out
        if isinstance(node, list):
            return [fill(v) for v in node]
        return node

    return fill(schema)


def _key(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error) -> str:
    key = _key(error.absolute_path)
    schema = error.schema
    if error.validator == "enum":
        return (
            f"config key '{key}': {error.instance!r} is not allowed; allowed values: "
            + ", ".join(map(str, schema["enum"]))
        )
    if error.validator == "additionalProperties" and "properties" in schema:
        extra = sorted(set(error.instance) - set(schema["properties"]))
        return (
            f"config key '{key}': unknown key(s) {', '.join(map(repr, extra))}; "
            f"allowed keys: {', '.join(schema['properties'])}"
        )
    return f"config key '{key}': {error.message}"


def _apply_defaults(node: dict, schema: dict) -> None:
    """Fill schema defaults in, creating absent objects whose members have defaults; in every
    entry of a mapping of objects (``models.<name>``), its own members' defaults only."""
    for name, sub in schema.get("properties", {}).items():
        if name not in node:
            if "default" in sub:
                node[name] = copy.deepcopy(sub["default"])
            elif sub.get("type") == "object" and "properties" in sub:
                node[name] = {}
        if isinstance(node.get(name), dict):
            _apply_defaults(node[name], sub)
    entry = schema.get("additionalProperties")
    if isinstance(entry, dict) and "properties" in entry:
        defaults = {k: v["default"] for k, v in entry["properties"].items() if "default" in v}
        for name, value in node.items():
            if name not in schema.get("properties", {}) and isinstance(value, dict):
                for key, default in defaults.items():
                    value.setdefault(key, copy.deepcopy(default))


def validate(config: dict, source: str = "config") -> dict:
    """A validated copy of ``config`` with schema defaults filled in; ConfigError otherwise."""
    import jsonschema

    _declare_tasks(config, source)
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise ConfigError(f"{source} is invalid ({len(errors)} problem(s)):\n{lines}")
    config = copy.deepcopy(config)
    _apply_defaults(config, schema)
    _check_licensed(config, source)
    _check_hub_sources(config, source)
    unknown = [m for m in config["grid"]["models"] if m not in config["models"]]
    if unknown:
        raise ConfigError(
            f"{source}: config key 'grid.models' names {unknown}, which are not defined under "
            f"'models' (defined: {', '.join(config['models'])})"
        )
    _check_per_model(config, source)
    problems = value_problems(Study(config))
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"{source} is invalid ({len(problems)} problem(s)):\n{lines}")
    return config


def _declare_tasks(config: dict, source: str) -> None:
    """``task_files``: the study's own task declarations, run before the registry is read."""
    files = config.get("task_files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ConfigError(f"{source}: config key 'task_files' must be a list of file paths")
    try:
        registry.declare(files)
    except registry.TaskFileError as e:
        raise ConfigError(f"{source}: config key 'task_files': {e}") from None


# --- values a job would reject, checked before any job ---
ROBERTA_FAMILY = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert")  # positions offset 2
PATTERN_SLOTS = ("lang", "lang3")


def value_problems(study: Study, architectures: dict | None = None) -> list[str]:
    """Every value of the config that a job would reject, as messages naming key, value and
    what was expected. ``architectures`` (model name -> its ``config.json``, as read from the
    mirror by preflight) adds the checks that need the model's own configuration."""
    problems = (
        _pattern_problems(study.config)
        + _language_problems(study)
        + _checkpoint_problems(study)
        + _margin_problems(study.config)
    )
    for model in study.grid["models"]:
        arch = {**study.declared_architecture(model), **(architectures or {}).get(model, {})}
        problems += _architecture_problems(study, model, arch)
    return problems


def _language_problems(study: Study) -> list[str]:
    """``data.tasks.<task>.languages``: the task's own (registry or a benchmark's), or any from
    local files."""
    out = []
    for task, override in study.config["data"].get("tasks", {}).items():
        known = set(registry.get(task).known_languages)
        unknown = [x for x in override.get("languages", ()) if x not in known]
        if unknown and study.data_source(task)["source"] != "local":
            out.append(
                f"config key 'data.tasks.{task}.languages' names {unknown}, which task {task} "
                f"has in no source here; a language of your own needs local files "
                f"(data.tasks.{task}.source: local, with its files)"
            )
    return out


def _pattern_problems(config: dict) -> list[str]:
    """``data.tasks.<task>.files`` patterns: balanced braces, only {lang} / {lang3} slots."""
    out = []
    for task, override in config["data"].get("tasks", {}).items():
        for split, value in override.get("files", {}).items():
            items = [value] if isinstance(value, str) else value
            for i, pattern in enumerate(items):
                key = f"data.tasks.{task}.files.{split}" + (
                    "" if isinstance(value, str) else f"[{i}]"
                )
                try:
                    slots = [
                        f for _, f, spec, conv in string.Formatter().parse(pattern) if f is not None
                    ]
                    bad = [f for f in slots if f not in PATTERN_SLOTS]
                    problem = f"slot(s) {', '.join('{' + f + '}' for f in bad)}" if bad else None
                except ValueError as e:
                    problem = str(e)
                if problem:
                    out.append(
                        f"config key '{key}': {pattern!r} is not a valid file pattern ({problem}); "
                        "expected a glob whose only slots are {lang} and {lang3} (write a "
                        "literal brace as {{ or }})"
                    )
    return out


def _checkpoint_problems(study: Study) -> list[str]:
    """Where a selection set picks the checkpoint, checkpoints must fall on evaluations."""
    jobs = [
        ("intermediate", i) for i in study.trained_intermediates() if i not in registry.MULTITASKS
    ]
    jobs += [("target", t) for t in study.grid["targets"] if registry.trains(t)]
    out = []
    for phase, task in jobs:
        hp = study.hparams(phase, task)
        steps = hp.checkpoint_steps
        if steps and steps % hp.eval_steps:
            out.append(
                f"config key 'hparams' ({phase} {task}): checkpoint_steps {steps} is not a "
                f"multiple of eval_steps {hp.eval_steps}; expected a multiple (the checkpoint "
                "picked on the selection set must be an evaluated one)"
            )
    return out


SIGNAL_RESOLUTION_S = 60  # SLURM may send --signal up to this much earlier than asked


def _margin_problems(config: dict) -> list[str]:
    """A training job saves before SLURM's warning signal, which ends the batch shell."""
    cluster = config["cluster"]
    save = int(cluster["save_margin_min"] * 60)
    signal = int(cluster["signal_margin_min"] * 60)
    if save >= signal + SIGNAL_RESOLUTION_S:
        return []
    return [
        f"config key 'cluster.save_margin_min' ({save / 60:g} min) must exceed "
        f"'cluster.signal_margin_min' ({signal / 60:g} min) by at least "
        f"{SIGNAL_RESOLUTION_S} s: SLURM may send the warning signal that much early"
    ]


def _architecture_problems(study: Study, model: str, arch: dict) -> list[str]:
    key = f"models.{model}" + (".build.architecture" if study.is_built(model) else "")
    out = []
    heads, hidden = arch.get("num_attention_heads"), arch.get("hidden_size")
    if heads and hidden and hidden % heads:
        out.append(
            f"config key '{key}': num_attention_heads {heads} does not divide hidden_size "
            f"{hidden}; expected a divisor of {hidden}"
        )
    if arch.get("max_position_embeddings"):
        offset = 2 if arch.get("model_type", "xlm-roberta") in ROBERTA_FAMILY else 0
        limit = arch["max_position_embeddings"] - offset
        for task in study.data_tasks():
            length = study.hparams(registry.get(task).role, task).max_length
            if length > limit:
                out.append(
                    f"config key 'hparams' (max_length of {task}): {length} is longer than "
                    f"model {model} can encode ({key}: max_position_embeddings "
                    f"{arch['max_position_embeddings']}); expected at most {limit}"
                )
    layer, depth = study.config["retrieval"]["layer"], arch.get("num_hidden_layers")
    retrieves = any(not registry.trains(t) for t in study.grid["targets"])
    if retrieves and layer is not None and depth and not 0 <= layer <= depth:
        out.append(
            f"config key 'retrieval.layer': {layer} is not a hidden layer of model {model} "
            f"({key}: num_hidden_layers {depth}); expected 0 to {depth}"
        )
    return out


def _check_per_model(config: dict, source: str) -> None:
    """Per-model grids and hyper-parameters name models of the grid, and a per-model grid is a
    subset of the grid (so every table can compare it with the other models)."""
    grid = config["grid"]
    for key, table in (
        ("grid.per_model", grid.get("per_model", {})),
        ("hparams.models", config.get("hparams", {}).get("models", {})),
    ):
        for model in table:
            if model not in grid["models"]:
                raise ConfigError(
                    f"{source}: config key '{key}.{model}': {model!r} is not in grid.models "
                    f"({', '.join(grid['models'])})"
                )
    for model, sub in grid.get("per_model", {}).items():
        for axis, values in sub.items():
            extra = [v for v in values if v not in grid[axis]]
            if extra:
                raise ConfigError(
                    f"{source}: config key 'grid.per_model.{model}.{axis}' has {extra}, which "
                    f"are not in grid.{axis}: a model's grid is a subset of the grid"
                )
    ml = config.get("multilingual", {})
    if ml.get("budget", "none") != "none" and not ml.get(ml["budget"]):
        raise ConfigError(
            f"{source}: config key 'multilingual.budget' is {ml['budget']!r} but "
            f"'multilingual.{ml['budget']}' is not set (the number every variant trains on)"
        )


def _check_hub_sources(config: dict, source: str) -> None:
    """A task read from the hub must have a hub source (LAReQA, Mewsli-X and BUCC have none)."""
    study = Study(config)
    lacking = [
        t
        for t in study.data_tasks()
        if study.data_source(t)["source"] == "hub" and not registry.get(t).hub
    ]
    if lacking:
        keys = ", ".join(f"data.tasks.{t}.source" for t in lacking)
        raise ConfigError(
            f"{source}: {', '.join(lacking)} have no Hugging Face hub source (the hub has no "
            f"usable copy); set {keys} to local and point data.root at the original files"
        )


def _check_licensed(config: dict, source: str) -> None:
    """A task on licensed data (CCG: CCGbank) reads its own local copy: say so before any job
    when the grid needs it."""
    for name in Study(config).data_tasks():
        task = registry.get(name)
        if not task.licence:
            continue
        spec = config["data"].get("tasks", {}).get(name, {})
        if spec.get("source", config["data"]["source"]) == "synthetic":
            continue
        if spec.get("source") != "local" or not spec.get("root"):
            raise ConfigError(
                f"{source}: the grid trains on {name} (directly or in multitask) but config key "
                f"data.tasks.{name} is not {{source: local, root: <its licensed copy>}}. "
                f"{task.licence}"
            )


def load(path: str | Path) -> dict:
    """A config file, validated; its study is named after the file unless it says otherwise."""
    return validate({"study": Path(path).stem, **read_yaml(path)}, source=str(path))


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader refusing a key written twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                mark = key_node.start_mark
                raise ConfigError(
                    f"{mark.name}:{mark.line + 1}:{mark.column + 1}: key {key!r} is written twice "
                    f"in one mapping (first at line {seen[key]}); YAML would keep only the last"
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> dict:
    """A config file's mapping; a syntax error or a repeated key names the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        with path.open(encoding="utf-8") as f:
            data = yaml.load(f, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    return data or {}
