"""Load, validate and resolve a study config (light imports only: the Snakefile uses it to plan).

Validation happens before any job runs and names the offending key and what was expected.
"""

from __future__ import annotations

import copy
import re
import string
from pathlib import Path

import yaml

from xstilts import layout, registry

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"

# Defaults of jiant's XTREME recipe (REFERENCE.md); the registry and the config override them.
BASE_HPARAMS = {
    "learning_rate": 1e-5,
    "epochs": 3.0,
    "max_steps": -1,
    "batch_size": 32,
    "warmup_ratio": 0.1,
    "weight_decay": 0.0,
    "max_grad_norm": 1.0,
    "adam_epsilon": 1e-8,
    "eval_steps": 1000,
    "early_stopping_patience": 30,
    "max_train_examples": None,
}


class ConfigError(ValueError):
    """A config that does not match the schema or the registry."""


def load_schema() -> dict:
    schema = yaml.safe_load(SCHEMA.read_text())
    kinds = {
        "intermediate": registry.intermediate_choices(),
        "target": registry.target_tasks(),
        "task": sorted(registry.TASKS),
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
    """Fill schema defaults in, creating absent objects whose members have defaults."""
    for name, sub in schema.get("properties", {}).items():
        if name not in node:
            if "default" in sub:
                node[name] = copy.deepcopy(sub["default"])
            elif sub.get("type") == "object" and "properties" in sub:
                node[name] = {}
        if isinstance(node.get(name), dict):
            _apply_defaults(node[name], sub)


def validate(config: dict, source: str = "config") -> dict:
    """A validated copy of ``config`` with schema defaults filled in; ConfigError otherwise."""
    import jsonschema

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


# --- values a job would reject, checked before any job ---
ROBERTA_FAMILY = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert")  # positions offset 2
PATTERN_SLOTS = ("lang", "lang3")


def value_problems(study: Study, architectures: dict | None = None) -> list[str]:
    """Every value of the config that a job would reject, as messages naming key, value and
    what was expected. ``architectures`` (model name -> its ``config.json``, as read from the
    mirror by preflight) adds the checks that need the model's own configuration."""
    problems = (
        _pattern_problems(study.config) + _language_problems(study) + _checkpoint_problems(study)
    )
    for model in study.grid["models"]:
        arch = {**study.declared_architecture(model), **(architectures or {}).get(model, {})}
        problems += _architecture_problems(study, model, arch)
    return problems


def _language_problems(study: Study) -> list[str]:
    """``data.tasks.<task>.languages``: the task's own (registry or a benchmark's), or any from
    local files."""
    from xstilts import benchmarks

    out = []
    for task, override in study.config["data"].get("tasks", {}).items():
        known = set(registry.get(task).languages)
        known |= {x for b in benchmarks.BENCHMARKS.values() for x in b.languages.get(task, ())}
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
        steps = hp.get("checkpoint_steps")
        if steps and steps % hp["eval_steps"]:
            out.append(
                f"config key 'hparams' ({phase} {task}): checkpoint_steps {steps} is not a "
                f"multiple of eval_steps {hp['eval_steps']}; expected a multiple (the checkpoint "
                "picked on the selection set must be an evaluated one)"
            )
    return out


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
            length = study.hparams(registry.get(task).role, task)["max_length"]
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


DEFAULT_STUDY = "config"  # the study of config/config.yaml, Snakemake's config when none is named


class Study:
    """A validated config with the questions the workflow asks of it."""

    def __init__(self, config: dict):
        self.config = config
        self.grid = config["grid"]

    @property
    def name(self) -> str:
        """The study's name (``study``): its results live under ``results/{name}/``."""
        return self.config.get("study", DEFAULT_STUDY)

    def path(self, pattern: str, **wildcards) -> str:
        """A path of this study's layout (``layout``), with ``wildcards`` filled in."""
        return layout.in_study(pattern, self.name).format(**wildcards)

    # --- models ---
    def model(self, name: str) -> dict:
        return self.config["models"][name]

    def build_key(self, model: str) -> str:
        """The key of a model's own files: a built model's spec and languages (what its
        tokenizer and weights are made from), or the hub id, revision or path it is read from."""
        spec = self.model(model)
        if "build" in spec:
            return layout.key({"build": spec["build"], "languages": self.languages(model)})
        return layout.key({k: spec.get(k) for k in ("hub", "revision")})

    def data_key(self, task: str) -> str:
        """The key of a task's prepared data: everything ``prepare-data`` reads it with."""
        return layout.key(self.data_source(task))

    def data_dir(self, task: str) -> str:
        return layout.DATA.format(task=task, data=self.data_key(task))

    def max_length(self, model: str, task: str) -> int:
        """The tokeniser's maximum length of a task for a model."""
        t = registry.get(task)
        if t.format == "retrieval":  # embedded, never trained: no training hyper-parameter applies
            return t.max_length
        return self.hparams(t.role, task, model)["max_length"]

    def cache(self, model: str, task: str) -> str:
        """The tokenised cache of a task's prepared data for a model."""
        return layout.CACHE.format(
            model=model,
            build=self.build_key(model),
            task=task,
            data=self.data_key(task),
            length=self.max_length(model, task),
        )

    def is_built(self, model: str) -> bool:
        return "build" in self.model(model)

    def model_ref(self, model: str) -> str:
        """The folder the pretrained encoder is loaded from: the built model, the mirror's
        snapshot of the hub id at its revision, or a local path given as ``hub``."""
        spec = self.model(model)
        if "build" in spec:
            return layout.MODEL.format(model=model, build=self.build_key(model))
        hub_model = self.hub_model(model)
        if hub_model is None:
            return spec["hub"]
        from xstilts import hub

        return str(hub.model_dir(self.mirror, *hub_model))

    @property
    def mirror(self) -> str:
        return self.config["hub"]["mirror"]

    def hub_model(self, model: str) -> tuple[str, str] | None:
        """(hub id, revision) of a model read from the hub; None if built or a local path."""
        spec = self.model(model)
        ref = spec.get("hub")
        if ref is None or ref.startswith(("/", ".", "~")) or Path(ref).expanduser().is_dir():
            return None
        return ref, spec.get("revision", "main")

    def declared_architecture(self, model: str) -> dict:
        """What the config itself says of a model's shape (the rest is in its config.json)."""
        spec = self.model(model)
        if "build" in spec:
            return {"max_position_embeddings": 514, **spec["build"]["architecture"]}
        if spec.get("num_hidden_layers"):
            return {"num_hidden_layers": spec["num_hidden_layers"]}
        return {}

    def encoder(self, model: str, inter: str, seed: int | str) -> str:
        """Where the target phase loads its encoder from (the pretrained model for ``none``)."""
        if inter == registry.NONE:
            return self.model_ref(model)
        return self.path(layout.ENCODER, model=model, inter=inter, seed=seed)

    def parameters(self, model: str) -> float | None:
        """The configured parameter count (None: count it from a built model's weights)."""
        return self.model(model).get("parameters")

    def retrieval_layer(self, model: str) -> int | None:
        """The hidden layer retrieval pools for ``model`` (None: 14/24 of its depth)."""
        return self.model(model).get("retrieval_layer", self.config["retrieval"]["layer"])

    # --- grid ---
    def trained_intermediates(self, model: str | None = None) -> list[str]:
        inters = self.model_grid(model)["intermediate"] if model else self.grid["intermediate"]
        return [i for i in inters if i != registry.NONE]

    def report_rules(self) -> list[tuple[str, list[str], list[str]]]:
        """(rule name, models, targets) of the per-model reports: one rule per distinct target
        set, ``report_tables`` for the first model's, ``report_tables_<model>`` for another's (the
        model's name with ``_`` for every character a rule name cannot hold)."""
        groups: dict[tuple, list[str]] = {}
        for model in self.grid["models"]:
            groups.setdefault(tuple(self.model_grid(model)["targets"]), []).append(model)
        return [
            (
                "report_tables" if i == 0 else "report_tables_" + re.sub(r"\W", "_", models[0]),
                models,
                list(targets),
            )
            for i, (targets, models) in enumerate(groups.items())
        ]

    def model_grid(self, model: str) -> dict:
        """The intermediates, targets and seeds run with ``model`` (``grid.per_model``)."""
        sub = self.grid.get("per_model", {}).get(model, {})
        return {
            axis: sub.get(axis, self.grid[axis]) for axis in ("intermediate", "targets", "seeds")
        }

    def data_tasks(self, model: str | None = None) -> list[str]:
        """Every task whose data the grid (or one model's grid) needs."""
        tasks = set()
        for inter in self.trained_intermediates(model):
            tasks |= set(self.intermediate_members(inter))
        for target in self.model_grid(model)["targets"] if model else self.grid["targets"]:
            tasks |= set(registry.data_tasks(target)) | set(self.train_before(target))
        return sorted(tasks)

    def intermediate_members(self, inter: str) -> list[str]:
        """The tasks an intermediate job trains on (the study's nine for multi-task)."""
        return registry.multitask_members() if inter in registry.MULTITASKS else [inter]

    def multitask_spec(self, inter: str) -> dict:
        """Sampling (and, for ``multitask_mlm``, MLM corpus) settings of a multi-task job."""
        mt = self.config["multitask"]
        spec = {"sampling": {k: mt[k] for k in ("sampling", "temperature", "cap")}, "mlm": None}
        if inter == registry.MULTITASK_MLM:
            spec["mlm"] = {**mt["mlm"], "languages": self.languages()}
        return spec

    def languages(self, model: str | None = None) -> list[str]:
        """Every language the grid's (or one model's) tasks touch, English first: a model built
        here is pretrained on the languages of its own cells."""
        langs = {lang for t in self.data_tasks(model) for lang in self.task_languages(t)}
        return ["en", *sorted(langs - {"en"})]

    # --- benchmark ---
    def benchmark(self):
        """The benchmark definition (``benchmarks.Benchmark``) the config scores against."""
        from xstilts import benchmarks

        return benchmarks.get(self.config["benchmark"])

    def task_languages(self, task: str) -> tuple[str, ...]:
        """A task's languages: the study's own (``data.tasks.<task>.languages``), else the
        benchmark's set for its tasks, the registry's otherwise."""
        own = self.config["data"].get("tasks", {}).get(task, {}).get("languages")
        return tuple(own) if own else self.benchmark().languages_of(task)

    def subset(self) -> dict[str, list[str]]:
        """The targets the study has other languages of than its benchmark scores: their
        matrix cells are over the study's languages, and no benchmark score counts them."""
        bench = self.benchmark()
        return {
            t: list(self.task_languages(t))
            for t in self.grid["targets"]
            if self.task_languages(t) != bench.languages_of(t)
        }

    def train_before(self, target: str) -> tuple[str, ...]:
        """Tasks a target's model is trained on before its training task (``target_training``)."""
        own = self.config.get("target_training", {})
        return tuple(own.get(target, registry.get(target).train_before))

    # --- data ---
    def data_source(self, task: str) -> dict:
        data = self.config["data"]
        override = data.get("tasks", {}).get(task, {})
        spec = {
            "source": override.get("source", data["source"]),
            "root": override.get("root", data["root"]),
            "files": override.get("files", {}),
            "loader": override.get("loader"),
            "multiword": override.get("multiword"),
            "max_eval_examples": data["max_eval_examples"],
        }
        if spec["source"] == "hub":
            spec["mirror"] = self.mirror
            spec["revisions"] = self.config["hub"]["revisions"]
        if self.task_languages(task) != registry.get(task).languages:
            spec["languages"] = list(self.task_languages(task))
        if spec["source"] == "synthetic":
            spec["synthetic"] = data.get("synthetic", {"train_size": 2000, "eval_size": 100})
            spec["synthetic"].setdefault("seed", 0)
        return spec

    # --- training ---
    def hparams(self, phase: str, task: str, model: str | None = None) -> dict:
        """Resolved hyper-parameters: base, registry, then config all / phase / task, then the
        model's own (``hparams.models``), then the multilingual variants' shared budget, and for
        a mixed translate-train variant the multi-task sampler that shares out its languages."""
        out = dict(BASE_HPARAMS, max_length=256)
        if task not in registry.MULTITASKS:
            t = registry.get(task)
            out.update(
                learning_rate=t.learning_rate,
                epochs=t.epochs,
                batch_size=t.batch_size,
                max_length=t.max_length,
            )
        hp = self.config.get("hparams", {})
        for block in (hp, hp.get("models", {}).get(model, {}) if model else {}):
            for layer in (block.get("all", {}), block.get(phase, {})):
                out.update(layer)
            out.update(block.get("tasks", {}).get(task, {}))
        if phase == "intermediate":
            out.update(self.multilingual_budget(task))
            if task.endswith(registry.TRANSLATE_TRAIN):  # all languages mixed, as multi-task
                mt = self.config["multitask"]
                out.update(
                    language_sampling=mt["sampling"],
                    language_temperature=mt["temperature"],
                    language_cap=mt["cap"],
                )
        return out

    def multilingual_budget(self, task: str) -> dict:
        """The training budget every multilingual variant of an English task shares (and the
        English task too, when a variant of it is in the grid): equal examples or steps."""
        ml = self.config.get("multilingual", {})
        budget = ml.get("budget", "none")
        base = registry.english_base(task)
        variants = set(registry.multilingual_variants(base)) & set(self.grid["intermediate"])
        if budget == "none" or task in registry.MULTITASKS or not variants:
            return {}
        if budget == "examples":
            return {"max_train_examples": ml["examples"]}
        return {"max_steps": ml["steps"], "max_train_examples": None}
