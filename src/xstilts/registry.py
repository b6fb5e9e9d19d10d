"""The task registry: every task of the study declared once.

Everything else reads this module: the config schema's enums, Snakemake's wildcard constraints and
DAG expansion, the model heads, the data loaders and the metrics. Adding a task is one entry here.
It imports nothing heavy, so the Snakefile can read it while planning.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

FORMATS = ("classification", "tagging", "span_qa", "multiple_choice", "retrieval", "dual_encoder")

# Hugging Face head per format (retrieval uses the bare encoder).
AUTO_MODEL = {
    "classification": "AutoModelForSequenceClassification",
    "tagging": "AutoModelForTokenClassification",
    "span_qa": "AutoModelForQuestionAnswering",
    "multiple_choice": "AutoModelForMultipleChoice",
    "retrieval": "AutoModel",
    "dual_encoder": "AutoModel",  # inside formats.dual_encoder's model
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
XCOPA_LANGS = tuple("et ht id it qu sw ta th tr vi zh".split())
MEWSLIX_LANGS = tuple("ar de en es fa ja pl ro ta tr uk".split())
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


@dataclass(frozen=True)
class Task:
    """One task: what it is, where its data lives, how it is scored and trained.

    ``metrics`` are the metric keys whose means make the task's XTREME score (two for QA:
    (mean EM + mean F1) / 2). ``hub`` describes the Hugging Face hub source used on the cluster;
    ``local`` the original files (paths relative to the config's ``data.root``; ``{lang}`` and
    ``{lang3}`` are expanded per language). ``train_task`` names, for a target, the task whose
    English training split fine-tunes it (``None``: evaluated from the encoder alone);
    ``train_before`` the tasks the target's model (head included) is trained on first, in order
    (XCOPA: SIQa, then COPA, as XTREME-R; the config's ``target_training`` can drop them);
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
    train_before: tuple[str, ...] = ()
    selection_task: str | None = None
    max_length: int = 256
    epochs: float = 3.0
    batch_size: int = 32
    learning_rate: float = 1e-5
    null_answers: bool = False
    in_multitask: bool = True  # part of the study's nine-task multi-task mixture
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
    Task(
        name="anli_plus",
        format="classification",
        role="intermediate",
        metrics=("accuracy",),
        labels=NLI_LABELS,
        hub={
            "parts": [
                {
                    "path": "facebook/anli",
                    "train": "train_r{round}",
                    "validation": "dev_r{round}",
                    "rounds": (1, 2, 3),
                    "columns": {"text_a": "premise", "text_b": "hypothesis", "id": "uid"},
                },
                {
                    "path": "stanfordnlp/snli",
                    "columns": {"text_a": "premise", "text_b": "hypothesis"},
                    "validation": None,
                },
                {
                    "path": "nyu-mll/glue",
                    "name": "mnli",
                    "validation": None,
                    "columns": {"text_a": "premise", "text_b": "hypothesis", "id": "idx"},
                },
            ]
        },
        local={
            "loader": "anli_jsonl",
            "train": [
                "anli_v1.0/R[123]/train.jsonl",
                "mnli_tsv:SNLI/train.tsv",
                "mnli_tsv:MNLI/train.tsv",
            ],
            "validation": "anli_v1.0/R[123]/dev.jsonl",
        },
        description="ANLI rounds 1-3 + SNLI + MNLI, one NLI head (validation: ANLI dev)",
    ),
    Task(
        name="qqp",
        format="classification",
        role="intermediate",
        metrics=("accuracy", "f1"),
        labels=("0", "1"),
        hub={
            "path": "nyu-mll/glue",
            "name": "qqp",
            "columns": {"text_a": "question1", "text_b": "question2", "id": "idx"},
        },
        local={"loader": "qqp_tsv", "train": "QQP/train.tsv", "validation": "QQP/dev.tsv"},
        description="Quora Question Pairs, paraphrase (363,846 train; accuracy and F1)",
    ),
    Task(
        name="sst2",
        format="classification",
        role="intermediate",
        metrics=("accuracy",),
        labels=("0", "1"),
        hub={
            "path": "nyu-mll/glue",
            "name": "sst2",
            "columns": {"text_a": "sentence", "id": "idx"},
        },
        local={"loader": "sst2_tsv", "train": "SST-2/train.tsv", "validation": "SST-2/dev.tsv"},
        in_multitask=False,
        description="SST-2 sentiment (67,349 train): in some versions of the study",
    ),
    Task(
        name="squad_v2",
        format="span_qa",
        role="intermediate",
        metrics=QA,
        null_answers=True,
        max_length=384,
        hub={"path": "rajpurkar/squad_v2"},
        local={
            "loader": "squad_json",
            "train": "squad/train-v2.0.json",
            "validation": "squad/dev-v2.0.json",
        },
        description="SQuAD v2.0: unanswerable questions predicted through the CLS position",
    ),
    Task(
        name="hellaswag",
        format="multiple_choice",
        role="intermediate",
        metrics=("accuracy",),
        labels=("0", "1", "2", "3"),
        hub={
            "path": "Rowan/hellaswag",
            "columns": {"id": "ind", "context": "ctx_a", "question": "ctx_b", "choices": "endings"},
        },
        local={
            "loader": "hellaswag",
            "train": "hellaswag/hellaswag_train.jsonl",
            "validation": "hellaswag/hellaswag_val.jsonl",
        },
        description="HellaSwag, 4 endings",
    ),
    Task(
        name="cosmosqa",
        format="multiple_choice",
        role="intermediate",
        metrics=("accuracy",),
        labels=("0", "1", "2", "3"),
        hub={
            "path": "allenai/cosmos_qa",
            "choice_columns": ("answer0", "answer1", "answer2", "answer3"),
        },
        local={
            "loader": "cosmosqa",
            "train": "cosmosqa/train.csv",
            "validation": "cosmosqa/valid.csv",
        },
        description="CosmosQA, 4 answers",
    ),
    Task(
        name="commonsenseqa",
        format="multiple_choice",
        role="intermediate",
        metrics=("accuracy",),
        labels=("A", "B", "C", "D", "E"),
        hub={"path": "tau/commonsense_qa", "context": ""},
        local={
            "loader": "commonsenseqa",
            "train": "commonsenseqa/train_rand_split.jsonl",
            "validation": "commonsenseqa/dev_rand_split.jsonl",
        },
        description="CommonsenseQA, 5 answers (random split)",
    ),
    Task(
        name="ccg",
        format="tagging",
        role="intermediate",
        metrics=("accuracy",),
        labels=(),  # the supertag inventory is read off the training data
        hub={},
        local={
            "loader": "ccgbank_auto",
            "train": [
                "data/AUTO/0[2-9]/*.auto",
                "data/AUTO/1[0-9]/*.auto",
                "data/AUTO/2[01]/*.auto",
            ],
            "validation": "data/AUTO/00/*.auto",
        },
        description="CCG supertagging on CCGbank (LDC2005T13; licensed: local copy only)",
    ),
    Task(
        name="siqa",
        format="multiple_choice",
        role="intermediate",
        metrics=("accuracy",),
        labels=("1", "2", "3"),
        max_length=128,
        epochs=5,
        learning_rate=3e-5,
        in_multitask=False,
        hub={
            "path": "lighteval/siqa",
            "choice_columns": ("answerA", "answerB", "answerC"),
            "context_template": "{context} {question}",
        },
        local={
            "loader": "siqa_jsonl",
            "train": "siqa/socialiqa-train-dev/train.jsonl",
            "validation": "siqa/socialiqa-train-dev/dev.jsonl",
        },
        description="Social IQa, 3 answers: XTREME-R trains XCOPA's model on it before COPA",
    ),
    Task(
        name="copa",
        format="multiple_choice",
        role="intermediate",
        metrics=("accuracy",),
        labels=("0", "1"),
        max_length=128,
        epochs=5,
        learning_rate=3e-5,
        in_multitask=False,
        hub={
            "path": "aps/super_glue",
            "name": "copa",
            "revision": "refs/pr/16",  # the parquet conversion (HUB.md: main UNVERIFIED)
            "columns": {"id": "idx"},
            "choice_columns": ("choice1", "choice2"),
            "context_template": "{premise} What was the {question}?",
        },
        local={
            "loader": "copa_jsonl",
            "train": "copa/train.jsonl",
            "validation": "copa/val.jsonl",
        },
        description="COPA (SuperGLUE), 2 alternatives: XCOPA's English training data",
    ),
    Task(
        name="squad_v1_retrieval",
        format="dual_encoder",
        role="intermediate",
        metrics=("map@20",),
        in_multitask=False,
        epochs=3,
        batch_size=16,
        learning_rate=2e-5,
        hub={"path": "rajpurkar/squad"},
        local={
            "loader": "squad_sentences",
            "train": "squad/train-v1.1.json",
            "validation": "squad/dev-v1.1.json",
        },
        description="SQuAD v1.1 as (question, answer sentence + paragraph) pairs: LAReQA's "
        "training data (sentences broken as XTREME-R's sb_sed main rule)",
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
        epochs=10,
        hub={
            "path": "google/xtreme",
            "name": "udpos.{lang_name}",
            "lang_names": UDPOS_LANG_NAMES,
            "columns": {"tags": "pos_tags"},
            # XTREME-R's extra languages (UD v2.7): a community mirror, columns UNVERIFIED
            "by_language": {
                lang: {"path": "izhx/xtreme-r-udpos", "name": "{lang}"}
                for lang in ("lt", "pl", "uk", "wo", "ro")
            },
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
        epochs=10,
        hub={
            "path": "google/xtreme",
            "name": "PAN-X.{lang}",
            "columns": {"tags": "ner_tags"},
            # XTREME-R's extra languages: WikiANN's configs (same Rahimi splits and tag order)
            "by_language": {
                lang: {"path": "unimelb-nlp/wikiann", "name": "{lang}"}
                for lang in ("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro")
            },
        },
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
        max_length=384,
        epochs=2,
        batch_size=16,
        hub={
            "path": "google/xtreme",
            "name": "XQuAD.{lang}",
            "test": "validation",
            "by_language": {"ro": {"path": "google/xquad", "name": "xquad.ro"}},  # XTREME-R
        },
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
        max_length=512,
        hub={
            "path": "google/xtreme",
            "name": "tatoeba.{lang3}",
            "test": "validation",
            "columns": {"source": "source_sentence", "target": "target_sentence"},
            # XTREME-R's extra languages: MTEB's copy (sentence1 non-English, sentence2 English)
            "by_language": {
                lang: {
                    "path": "mteb/tatoeba-bitext-mining",
                    "name": "{lang3}-eng",
                    "test": "test",
                    "columns": {"source": "sentence1", "target": "sentence2"},
                }
                for lang in ("az", "lt", "pl", "uk", "ro")
            },
        },
        local={"loader": "tatoeba", "test": "tatoeba/tatoeba.{lang3}-eng.{lang3}"},
        description="Tatoeba sentence retrieval, xx to en (LASER test sets)",
    ),
    Task(
        name="xcopa",
        format="multiple_choice",
        role="target",
        metrics=("accuracy",),
        languages=XCOPA_LANGS,
        labels=("0", "1"),
        train_task="copa",
        train_before=("siqa",),
        selection_task="copa",
        max_length=128,
        epochs=5,
        learning_rate=3e-5,
        hub={
            "path": "cambridgeltl/xcopa",
            "name": "{lang}",
            "columns": {"id": "idx"},
            "choice_columns": ("choice1", "choice2"),
            "context_template": "{premise} What was the {question}?",
        },
        local={
            "loader": "copa_jsonl",
            "validation": "xcopa/data/{lang}/val.{lang}.jsonl",
            "test": "xcopa/data/{lang}/test.{lang}.jsonl",
        },
        description="XCOPA (XTREME-R): causal commonsense in 11 languages, trained on SIQa + COPA",
    ),
    Task(
        name="lareqa",
        format="dual_encoder",
        role="target",
        metrics=("map@20",),
        languages=XQUAD_LANGS,
        train_task="squad_v1_retrieval",
        selection_task="squad_v1_retrieval",
        epochs=3,
        batch_size=16,
        learning_rate=2e-5,
        local={"loader": "xquad_r", "test": "lareqa/xquad-r/{lang}.json"},
        description="LAReQA on XQuAD-R (XTREME-R): answer sentences retrieved from all "
        "11 languages' pooled candidates by a dual encoder trained on SQuAD v1.1 (mAP@20)",
    ),
    Task(
        name="mewslix",
        format="dual_encoder",
        role="target",
        metrics=("map@20",),
        languages=MEWSLIX_LANGS,
        train_task="mewslix",
        epochs=2,
        batch_size=64,
        learning_rate=2e-5,
        local={
            "loader": "mewslix",
            "candidates": "mewslix/candidate_set_entities.jsonl",
            "train": "mewslix/wikipedia_pairs-train.jsonl",
            "validation": "mewslix/wikinews_mentions/dev-{lang}.jsonl",
            "test": "mewslix/wikinews_mentions/test-{lang}.jsonl",
        },
        description="Mewsli-X (XTREME-R): entity linking as retrieval of an entity description "
        "by a dual encoder trained on English Wikipedia mention-entity pairs (mAP@20)",
    ),
)

TRANSLATE_TRAIN = "@translate-train"


# The study's second alternative: intermediate training on XTREME's machine translations of the
# English training data (train.{lang} per language; English validation for selection).
def _translated(
    base: Task, languages: tuple[str, ...], train: str, validation: str, hub: dict | None = None
) -> Task:
    return replace(
        base,
        name=base.name + TRANSLATE_TRAIN,
        languages=languages,
        hub=hub or {},
        local={**base.local, "train": train, "validation": validation},
        in_multitask=False,
        description=f"{base.name} machine-translated into {len(languages)} languages (XTREME)",
    )


_BASE = {t.name: t for t in _TASKS}
_TASKS += (
    _translated(
        replace(_BASE["mnli"], local={"loader": "xnli_mt_tsv"}),
        tuple(lang for lang in XNLI_LANGS if lang != "en"),
        "xnli/XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv",
        "mnli_jsonl:mnli/mnli_val.jsonl",
        # facebook/xnli's train split of each language is XNLI-MT (HUB.md section 4)
        hub={
            "parts": [
                {
                    "path": "facebook/xnli",
                    "name": "{lang}",
                    "validation": None,
                    "columns": {"text_a": "premise", "text_b": "hypothesis"},
                },
                {
                    "path": "nyu-mll/glue",
                    "name": "mnli",
                    "train": None,
                    "validation": "validation_matched",
                    "columns": {"text_a": "premise", "text_b": "hypothesis", "id": "idx"},
                },
            ]
        },
    ),
    _translated(
        _BASE["squad_v1"],
        tuple(lang for lang in XQUAD_LANGS if lang != "en"),
        "squad/translate-train/squad.translate.train.en-{lang}.json",
        "squad/dev-v1.1.json",
    ),
)


# The multilingual-intermediate analysis's middle variant: one translated language at a time
# (``mnli@translate-train-de``), beside English only (``mnli``) and all translated languages
# mixed (``mnli@translate-train``).
def _one_language(mixed: Task, lang: str) -> Task:
    base = mixed.name.removesuffix(TRANSLATE_TRAIN)
    return replace(
        mixed,
        name=f"{mixed.name}-{lang}",
        languages=(lang,),
        description=f"{base} machine-translated into {lang} (XTREME)",
    )


_TASKS += tuple(
    _one_language(t, lang)
    for t in _TASKS
    if t.name.endswith(TRANSLATE_TRAIN)
    for lang in t.languages
)
TASKS: dict[str, Task] = {t.name: t for t in _TASKS}

# Pseudo-intermediates: the pretrained model itself; all intermediate tasks at once; and the
# study's first alternative, multi-task training mixed with multilingual masked-LM batches.
NONE = "none"
MULTITASK = "multitask"
MULTITASK_MLM = "multitask_mlm"
MULTITASKS = (MULTITASK, MULTITASK_MLM)


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


def multitask_members() -> list[str]:
    """The tasks of the multi-task mixture (the study's nine)."""
    return [n for n, t in TASKS.items() if t.role == "intermediate" and t.in_multitask]


def intermediate_choices() -> list[str]:
    """Every value the ``intermediate`` grid axis accepts."""
    return [NONE, *MULTITASKS, *intermediate_tasks()]


def trains(target: str) -> bool:
    """Whether a target is fine-tuned (False for encoder-only retrieval tasks)."""
    return get(target).train_task is not None


def data_tasks(target: str) -> list[str]:
    """The prepared data sets a target run reads: its own, its training and selection tasks'."""
    t = get(target)
    return sorted({target, t.train_task, t.selection_task} - {None})


def selection_task(target: str) -> str:
    return get(target).selection_task or target


def english_base(name: str) -> str:
    """The English task a translated intermediate variant comes from (itself otherwise)."""
    return name.partition("@")[0]


def multilingual_variants(base: str) -> list[str]:
    """The translated intermediate variants of an English task (one language, then mixed)."""
    return [n for n in TASKS if n != base and english_base(n) == base]
