"""The task registry: every task of the study declared once.

Everything else reads this module: the config schema's enums, Snakemake's wildcard constraints and
DAG expansion, the model heads, the data loaders and the metrics. Adding a task is one entry here.
It imports nothing heavy, so the Snakefile can read it while planning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FORMATS = ("classification", "tagging", "span_qa", "multiple_choice", "retrieval")

# Hugging Face head per format (retrieval uses the bare encoder).
AUTO_MODEL = {
    "classification": "AutoModelForSequenceClassification",
    "tagging": "AutoModelForTokenClassification",
    "span_qa": "AutoModelForQuestionAnswering",
    "multiple_choice": "AutoModelForMultipleChoice",
    "retrieval": "AutoModel",
}

NLI_LABELS = ("entailment", "neutral", "contradiction")
UPOS_LABELS = (
    "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
)
PANX_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")

XNLI_LANGS = tuple("ar bg de el en es fr hi ru sw th tr ur vi zh".split())
PAWSX_LANGS = tuple("de en es fr ja ko zh".split())
UDPOS_LANGS = tuple(
    "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur "
    "vi yo zh".split()
)
PANX_LANGS = tuple(
    "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru "
    "sw ta te th tl tr ur vi yo zh".split()
)
XQUAD_LANGS = tuple("ar de el en es hi ru th tr vi zh".split())
MLQA_LANGS = tuple("ar de en es hi vi zh".split())
TYDIQA_LANGS = tuple("ar bn en fi id ko ru sw te".split())
BUCC_LANGS = tuple("de fr ru zh".split())
TATOEBA_LANGS = tuple(
    "af ar bg bn de el es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr nl pt ru sw ta te "
    "th tl tr ur vi zh".split()
)


@dataclass(frozen=True)
class Task:
    """One task: what it is, where its data lives, how it is scored and trained.

    ``hub`` describes the Hugging Face hub source used on the cluster; ``local`` the original files
    (paths are relative to the data root named in the config, ``{lang}`` is expanded per language).
    ``train_task`` names, for a target, the task whose English training split fine-tunes it
    (``None`` for evaluation-only tasks). Hyper-parameters are defaults the config may override.
    """

    name: str
    format: str
    role: str  # "intermediate" or "target"
    metric: str  # primary metric key in metrics.json
    languages: tuple[str, ...] = ("en",)
    labels: tuple[str, ...] = ()
    train_task: str | None = None
    max_length: int = 256
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 1e-5
    hub: dict = field(default_factory=dict)
    local: dict = field(default_factory=dict)
    description: str = ""

    @property
    def num_labels(self) -> int:
        return len(self.labels)


_TASKS = (
    # --- intermediate tasks (English) ---
    Task(
        name="mnli",
        format="classification",
        role="intermediate",
        metric="accuracy",
        labels=NLI_LABELS,
        hub={"path": "nyu-mll/glue", "name": "mnli", "validation": "validation_matched"},
        local={
            "loader": "mnli_jsonl",
            "train": "mnli/mnli_train.jsonl",
            "validation": "mnli/mnli_val.jsonl",
        },
        description="MultiNLI, 3-way NLI (392,702 train)",
    ),
    # --- target tasks (XTREME) ---
    Task(
        name="xnli",
        format="classification",
        role="target",
        metric="accuracy",
        languages=XNLI_LANGS,
        labels=NLI_LABELS,
        train_task="mnli",
        epochs=2,
        batch_size=32,
        hub={"path": "facebook/xnli", "name": "{lang}"},
        local={
            "loader": "xtreme_pair_tsv",
            "validation": "xnli/dev-{lang}.tsv",
            "test": "xnli/test-{lang}.tsv",
        },
        description="XNLI: zero-shot NLI in 15 languages, fine-tuned on MNLI",
    ),
    Task(
        name="udpos",
        format="tagging",
        role="target",
        metric="f1",
        languages=UDPOS_LANGS,
        labels=UPOS_LABELS,
        train_task="udpos",
        epochs=10,
        batch_size=32,
        hub={"path": "google/xtreme", "name": "udpos.{lang_name}"},
        local={
            "loader": "conllu",
            "train": "udpos/en_gum-ud-train.conllu",
            "validation": "udpos/en_ewt-ud-dev.conllu",
            "test": "udpos/{lang}_*-ud-test.conllu",
        },
        description="UD v2.5 part-of-speech tagging, seqeval F1",
    ),
)

TASKS: dict[str, Task] = {t.name: t for t in _TASKS}

# Pseudo-intermediates: the pretrained model itself, and all intermediate tasks at once.
NONE = "none"
MULTITASK = "multitask"


def get(name: str) -> Task:
    """The task called ``name``; a KeyError that lists the known tasks otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None


def intermediate_tasks() -> list[str]:
    return [n for n, t in TASKS.items() if t.role == "intermediate"]


def target_tasks() -> list[str]:
    return [n for n, t in TASKS.items() if t.role == "target"]


def intermediate_choices() -> list[str]:
    """Every value the ``intermediate`` grid axis accepts."""
    return [NONE, MULTITASK, *intermediate_tasks()]


def trains(target: str) -> bool:
    """Whether a target is fine-tuned (False for encoder-only retrieval tasks)."""
    return get(target).train_task is not None


def data_tasks(target: str) -> list[str]:
    """The prepared data sets a target run reads: its training task's and its own."""
    t = get(target)
    return sorted({target, t.train_task} - {None})
