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


UDPOS_LANG_NAMES = dict(
    af="Afrikaans",
    ar="Arabic",
    bg="Bulgarian",
    de="German",
    el="Greek",
    en="English",
    es="Spanish",
    et="Estonian",
    eu="Basque",
    fa="Persian",
    fi="Finnish",
    fr="French",
    he="Hebrew",
    hi="Hindi",
    hu="Hungarian",
    id="Indonesian",
    it="Italian",
    ja="Japanese",
    kk="Kazakh",
    ko="Korean",
    mr="Marathi",
    nl="Dutch",
    pt="Portuguese",
    ru="Russian",
    ta="Tamil",
    te="Telugu",
    th="Thai",
    tl="Tagalog",
    tr="Turkish",
    ur="Urdu",
    vi="Vietnamese",
    yo="Yoruba",
    zh="Chinese",
)
# XTREME's task groups (its scorer averages each group, then all tasks).
GROUPS = ("classification", "structured_prediction", "question_answering", "retrieval")


@dataclass(frozen=True)
class Task:
    """One task: what it is, where its data lives, how it is scored and trained.

    ``metrics`` are the metric keys whose means make the task's XTREME score (two for QA:
    (mean EM + mean F1) / 2). ``hub`` describes the Hugging Face hub source used on the cluster;
    ``local`` the original files (paths relative to the config's ``data.root``; ``{lang}`` and
    ``{lang3}`` are expanded per language). ``train_task`` names, for a target, the task whose
    English training split fine-tunes it (``None``: evaluated from the encoder alone);
    ``selection_task`` the task whose English validation split picks the checkpoint.
    Hyper-parameters are defaults the config may override.
    """

    name: str
    format: str
    role: str  # "intermediate" or "target"
    metrics: tuple[str, ...]
    languages: tuple[str, ...] = ("en",)
    labels: tuple[str, ...] = ()
    train_task: str | None = None
    selection_task: str | None = None
    group: str | None = None
    max_length: int = 256
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 1e-5
    null_answers: bool = False
    hub: dict = field(default_factory=dict)
    local: dict = field(default_factory=dict)
    description: str = ""

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def metric(self) -> str:
        """The headline metric (the last of ``metrics``: accuracy, F1)."""
        return self.metrics[-1]


QA = ("exact_match", "f1")
_TASKS = (
    # --- intermediate tasks (English) ---
    Task(
        name="mnli",
        format="classification",
        role="intermediate",
        metrics=("accuracy",),
        labels=NLI_LABELS,
        hub={
            "path": "nyu-mll/glue",
            "name": "mnli",
            "validation": "validation_matched",
            "columns": {"text_a": "premise", "text_b": "hypothesis", "id": "idx"},
        },
        local={
            "loader": "mnli_jsonl",
            "train": "mnli/mnli_train.jsonl",
            "validation": "mnli/mnli_val.jsonl",
        },
        description="MultiNLI, 3-way NLI (392,702 train)",
    ),
    Task(
        name="squad_v1",
        format="span_qa",
        role="intermediate",
        metrics=QA,
        max_length=384,
        hub={"path": "rajpurkar/squad"},
        local={
            "loader": "squad_json",
            "train": "squad/train-v1.1.json",
            "validation": "squad/dev-v1.1.json",
        },
        description="SQuAD v1.1 extractive QA",
    ),
    # --- target tasks (XTREME) ---
    Task(
        name="xnli",
        format="classification",
        role="target",
        metrics=("accuracy",),
        languages=XNLI_LANGS,
        labels=NLI_LABELS,
        train_task="mnli",
        group="classification",
        epochs=2,
        hub={
            "path": "facebook/xnli",
            "name": "{lang}",
            "columns": {"text_a": "premise", "text_b": "hypothesis"},
        },
        local={
            "loader": "xtreme_pair_tsv",
            "validation": "xnli/dev-{lang}.tsv",
            "test": "xnli/test-{lang}.tsv",
        },
        description="XNLI: NLI in 15 languages, fine-tuned on MNLI",
    ),
    Task(
        name="pawsx",
        format="classification",
        role="target",
        metrics=("accuracy",),
        languages=PAWSX_LANGS,
        labels=("0", "1"),
        train_task="pawsx",
        group="classification",
        epochs=5,
        hub={
            "path": "google/xtreme",
            "name": "PAWS-X.{lang}",
            "columns": {"text_a": "sentence1", "text_b": "sentence2"},
        },
        local={
            "loader": "xtreme_pair_tsv",
            "train": "pawsx/train-en.tsv",
            "validation": "pawsx/dev-{lang}.tsv",
            "test": "pawsx/test-{lang}.tsv",
        },
        description="PAWS-X paraphrase identification",
    ),
    Task(
        name="udpos",
        format="tagging",
        role="target",
        metrics=("f1",),
        languages=UDPOS_LANGS,
        labels=UPOS_LABELS,
        train_task="udpos",
        group="structured_prediction",
        epochs=10,
        hub={
            "path": "google/xtreme",
            "name": "udpos.{lang_name}",
            "lang_names": UDPOS_LANG_NAMES,
            "columns": {"tags": "pos_tags"},
        },
        local={
            "loader": "conllu",
            "train": "udpos/en_*-ud-train.conllu",
            "validation": "udpos/{lang}_*-ud-dev.conllu",
            "test": "udpos/{lang}_*-ud-test.conllu",
        },
        description="UD v2.5 part-of-speech tagging (seqeval F1, as XTREME scores it)",
    ),
    Task(
        name="panx",
        format="tagging",
        role="target",
        metrics=("f1",),
        languages=PANX_LANGS,
        labels=PANX_LABELS,
        train_task="panx",
        group="structured_prediction",
        epochs=10,
        hub={"path": "google/xtreme", "name": "PAN-X.{lang}", "columns": {"tags": "ner_tags"}},
        local={
            "loader": "panx_tokens",
            "train": "panx/panx_dataset/en/train",
            "validation": "panx/panx_dataset/{lang}/dev",
            "test": "panx/panx_dataset/{lang}/test",
        },
        description="WikiANN named entities, Rahimi et al. split (seqeval entity F1)",
    ),
    Task(
        name="xquad",
        format="span_qa",
        role="target",
        metrics=QA,
        languages=XQUAD_LANGS,
        train_task="squad_v1",
        selection_task="squad_v1",
        group="question_answering",
        max_length=384,
        epochs=2,
        batch_size=16,
        hub={"path": "google/xtreme", "name": "XQuAD.{lang}", "test": "validation"},
        local={"loader": "squad_json", "test": "xquad/xquad.{lang}.json"},
        description="XQuAD: SQuAD v1.1 dev translated into 10 languages",
    ),
    Task(
        name="mlqa",
        format="span_qa",
        role="target",
        metrics=QA,
        languages=MLQA_LANGS,
        train_task="squad_v1",
        group="question_answering",
        max_length=384,
        epochs=2,
        batch_size=16,
        hub={"path": "google/xtreme", "name": "MLQA.{lang}.{lang}"},
        local={
            "loader": "squad_json",
            "validation": "mlqa/MLQA_V1/dev/dev-context-{lang}-question-{lang}.json",
            "test": "mlqa/MLQA_V1/test/test-context-{lang}-question-{lang}.json",
        },
        description="MLQA (context language = question language; language-aware scoring)",
    ),
    Task(
        name="tydiqa",
        format="span_qa",
        role="target",
        metrics=QA,
        languages=TYDIQA_LANGS,
        train_task="tydiqa",
        group="question_answering",
        max_length=384,
        epochs=2,
        batch_size=16,
        hub={
            "path": "google/xtreme",
            "name": "tydiqa",
            "test": "validation",
            "language_from_id": True,
        },
        local={
            "loader": "squad_json",
            "train": "tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json",
            "test": "tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json",
        },
        description="TyDiQA-GoldP (XTREME's split: dev serves as test)",
    ),
    Task(
        name="bucc",
        format="retrieval",
        role="target",
        metrics=("f1",),
        languages=BUCC_LANGS,
        group="retrieval",
        max_length=512,
        local={
            "loader": "bucc",
            "validation": "bucc2018/{lang}-en.dev.gold",
            "test": "bucc2018/{lang}-en.test.gold",
        },
        description="BUCC 2018 bitext mining (ratio margin, threshold tuned on the sample set)",
    ),
    Task(
        name="tatoeba",
        format="retrieval",
        role="target",
        metrics=("accuracy",),
        languages=TATOEBA_LANGS,
        group="retrieval",
        max_length=512,
        hub={
            "path": "google/xtreme",
            "name": "tatoeba.{lang3}",
            "test": "validation",
            "columns": {"source": "source_sentence", "target": "target_sentence"},
        },
        local={"loader": "tatoeba", "test": "tatoeba/tatoeba.{lang3}-eng.{lang3}"},
        description="Tatoeba sentence retrieval, xx to en (LASER test sets)",
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
    """The prepared data sets a target run reads: its own, its training and selection tasks'."""
    t = get(target)
    return sorted({target, t.train_task, t.selection_task} - {None})


def selection_task(target: str) -> str:
    return get(target).selection_task or target


def group_tasks(group: str) -> list[str]:
    return [n for n, t in TASKS.items() if t.group == group]
