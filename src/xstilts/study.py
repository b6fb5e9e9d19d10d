"""The ``Study``: a validated config and the planning questions the workflow asks of it."""

from __future__ import annotations

import re
from pathlib import Path

from xstilts import layout, registry
from xstilts.hparams import RUNTIME_KEYS, HParams

# what the follow-up analyses read of the config (``Study.analysis_config``)
ANALYSIS_SECTIONS = (
    "study",
    "grid",
    "data",
    "benchmark",
    "target_training",
    "multilingual",
    "analysis",
)
ANALYSIS_MODEL_KEYS = ("build", "parameters")

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

    def analysis_config(self) -> dict:
        """The part of the config the follow-up analyses read (the ``analyse`` rules' parameter:
        a change anywhere else, ``cluster`` or ``hparams``, re-runs no analysis)."""
        out = {k: self.config[k] for k in ANALYSIS_SECTIONS if k in self.config}
        out["models"] = {
            name: {k: spec[k] for k in ANALYSIS_MODEL_KEYS if k in spec}
            for name, spec in self.config["models"].items()
        }
        return out

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
        return self.hparams(t.role, task, model).max_length

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

    def stage_before(self, target: str, stage: str | None) -> str | None:
        """The ``train_before`` stage trained just before ``stage`` (None: the target's own
        training), or None where ``stage`` starts from the intermediate encoder."""
        stages = self.train_before(target)
        if stage is None:
            return stages[-1] if stages else None
        i = stages.index(stage)
        return stages[i - 1] if i else None

    # --- data ---
    def declared_gaps(self) -> list[str]:
        """One line per split the registry declares absent from the grid's data (in the
        languages the study uses)."""
        return [
            f"{name}: no {gap.split} split for {', '.join(gap.languages) or 'any language'} "
            f"(declared in the registry: {gap.reason})"
            for name in self.data_tasks()
            for gap in registry.restrict(
                registry.get(name), self.task_languages(name), local=True
            ).gaps
        ]

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
            spec["synthetic"] = data["synthetic"]
        return spec

    # --- training ---
    def hparams(self, phase: str, task: str, model: str | None = None) -> HParams:
        """Resolved hyper-parameters: the defaults (``HParams``), the registry's, then config all /
        phase / task, then the model's own (``hparams.models``), then the multilingual variants'
        shared budget, for a mixed translate-train variant the multi-task sampler that shares
        out its languages, and the model's run-time settings."""
        out = {}
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
        if model:
            spec = self.model(model)
            out.update({k: spec[k] for k in RUNTIME_KEYS if k in spec})
        return HParams(**out)

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
