"""The task registry: every task of the study declared once.

Everything else reads this module: the config schema's enums, Snakemake's wildcard constraints and
DAG expansion, the model heads, the data loaders and the metrics, the benchmarks (each member's
languages, with ``extra_languages``), ``xstilts estimate`` (its sizes) and the hub fixtures.
Adding a task is one entry here, or, for a study's own task, one ``register`` call in a file the
config's ``task_files`` names (``declare``). It imports nothing heavy, so the Snakefile can read
it while planning.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from xstilts.formats.columns import (
    COLUMNS,
    ClassificationColumns,
    DualEncoderColumns,
    MultipleChoiceColumns,
    RetrievalColumns,
    SpanQAColumns,
    TaggingColumns,
)
from xstilts.hparams import HParams
from xstilts.hub import CONVERT, HubSource
from xstilts.loaders.ccgbank import CCGBANK_HELP
from xstilts.loaders.conllu import MULTIWORD
from xstilts.loaders.errors import DataFormatError

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

# XTREME-R's extra languages (google-research/xtreme evaluate.py XTREME_R_TASK2LANGS), read from
# their own hub repositories (docs/hub.md, "XTREME-R's extra languages"): each task's
# ``extra_languages`` and the hub source that serves them
_UDPOS_R = tuple("lt pl uk wo ro".split())
_PANX_R = tuple("qu pl uk az lt pa gu ro".split())
_XQUAD_R = ("ro",)
_TATOEBA_R = tuple("az lt pl uk ro".split())


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
class Gap:
    """Splits a task declares absent (for ``languages``; empty: every language), and why."""

    split: str
    languages: tuple[str, ...]
    reason: str


TYDIQA_LANG_NAMES = dict(
    ar="arabic",
    bn="bengali",
    en="english",
    fi="finnish",
    id="indonesian",
    ko="korean",
    ru="russian",
    sw="swahili",
    te="telugu",
)
_ONE_SPLIT = "one evaluation set per language (the test set); checkpoints are selected on {select}"
_TRAIN = {"train": "train", "validation": "validation"}
_EVAL = {"validation": "validation", "test": "test"}
_ALL = {**_TRAIN, **_EVAL}


def _glue(config: str, columns, validation: str | None = "validation") -> HubSource:
    """A GLUE configuration (test labels are -1: test splits are never read)."""
    splits = {"train": "train", **({"validation": validation} if validation else {})}
    return HubSource("nyu-mll/glue", config, columns, splits)


def _xtreme(config: str, columns, splits: dict | None = None, **kw) -> HubSource:
    """A google/xtreme configuration (parquet on main, one folder per configuration)."""
    return HubSource("google/xtreme", config, columns, splits or _ALL, **kw)


# GLUE's ClassLabel names, spelled as the original TSVs' label column (the registry's labels)
_QQP = {"not_duplicate": "0", "duplicate": "1"}
_SST2 = {"negative": "0", "positive": "1"}
_NLI_IDX = ClassificationColumns(text_a="premise", text_b="hypothesis", id="idx")
_XNLI = ClassificationColumns(text_a="premise", text_b="hypothesis")
_COPA_CONTEXT = "{premise} What was the {question}?"  # XTREME-R run_xcopa.py: first segment


def _copa_columns(label_kind: str) -> MultipleChoiceColumns:
    """COPA's and XCOPA's columns (the same layout; their labels are stored differently)."""
    return MultipleChoiceColumns(
        label="label",
        label_kind=label_kind,
        choice_columns=("choice1", "choice2"),
        context_template=_COPA_CONTEXT,
        id="idx",
    )


@dataclass(frozen=True)
class Task:
    """One task: what it is, where its data lives, how it is scored and trained.

    ``metrics`` are the metric keys whose means make the task's XTREME score (two for QA:
    (mean EM + mean F1) / 2). ``hub`` lists the Hugging Face hub sources used on the cluster
    (concatenated, ANLI+), empty when the hub has no usable copy; ``local`` the original files
    (paths relative to the config's ``data.root``; ``{lang}`` and ``{lang3}`` are expanded per
    language). ``train_task`` names, for a target, the task whose
    English training split fine-tunes it (``None``: evaluated from the encoder alone);
    ``train_before`` the tasks the target's model (head included) is trained on first, in order
    (XCOPA: SIQa, then COPA, as XTREME-R; the config's ``target_training`` can drop them);
    ``selection_task`` the task whose English validation split picks the checkpoint.
    ``tag_scheme`` says how a tagging target's tags are read into seqeval spans (see
    ``xstilts.metrics.tagging``). ``multiword`` says how CoNLL-U multiword tokens are read
    (``xstilts.loaders.conllu.MULTIWORD``: ``fused`` as XTREME prepares UD-POS, or ``subtokens``;
    the config's ``data.tasks.<task>.multiword`` overrides it). ``pooled``: the task score is one
    mean over the evaluation examples of all its languages (each language's mean weighted by its
    example count), as XTREME's LAReQA scorer averages over all questions. ``gaps`` declares
    splits the data do not have (anything else missing is an error); ``gold`` says where labelled
    evaluation files come from when a copy has them stripped. What a format varies per task is
    declared here: ``null_answers`` (span QA: unanswerable questions, SQuAD v2.0),
    ``normalise_by_language`` (span QA: answers normalised as MLQA's scorer does, per language),
    ``mined_pairs`` (retrieval: candidate pairs mined over two corpora and scored at the threshold
    tuned on the dev split, BUCC), ``one_gold`` (dual encoder: one relevant candidate per query,
    Mewsli-X's entity, not one per language), ``licence`` (licensed data, read only from its own
    local root ``data.tasks.<task>.root``: how to obtain it, CCGbank). Hyper-parameters are
    defaults the config may override.

    ``extra_languages`` maps a benchmark to the languages it scores beyond ``languages``
    (XTREME-R's extras), after them. ``train_examples`` (the English training set),
    ``eval_examples`` (a test set, per language) and ``mean_tokens`` (sub-word tokens per
    example, else the format's) are the sizes ``xstilts estimate`` assumes (None: its default).
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
    max_length: int = HParams.max_length  # the task's own hyper-parameters (HParams' by default)
    epochs: float = HParams.epochs
    batch_size: int = HParams.batch_size
    learning_rate: float = HParams.learning_rate
    null_answers: bool = False
    normalise_by_language: bool = False
    mined_pairs: bool = False
    one_gold: bool = False
    licence: str = ""
    tag_scheme: str | None = None  # tagging targets: "iob2" or "full_tag"
    multiword: str | None = None  # CoNLL-U tasks: "fused" or "subtokens"
    pooled: bool = False
    in_multitask: bool = True  # part of the study's nine-task multi-task mixture
    extra_languages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    train_examples: int | None = None
    eval_examples: int | None = None
    mean_tokens: int | None = None
    hub: tuple[HubSource, ...] = ()
    local: dict = field(default_factory=dict)
    gaps: tuple[Gap, ...] = ()
    gold: str = ""
    description: str = ""

    def __post_init__(self):
        where = f"registry task {self.name!r}"
        if self.format not in FORMATS:
            raise ValueError(f"{where}: format {self.format!r} not in {FORMATS}")
        if self.multiword not in (None, *MULTIWORD):
            raise ValueError(f"{where}: multiword {self.multiword!r} not in {MULTIWORD}")
        for source in self.hub:
            if not isinstance(source, HubSource):
                raise TypeError(f"{where}: hub entries must be HubSource, got {source!r}")
            if not isinstance(source.columns, COLUMNS[self.format]):
                raise TypeError(
                    f"{where}: hub {source.repo} columns must be "
                    f"{COLUMNS[self.format].__name__}, got {type(source.columns).__name__}"
                )
        for gap in self.gaps:
            if gap.split not in ("train", "validation", "test"):
                raise ValueError(f"{where}: gap split {gap.split!r}")
            if bad := set(gap.languages) - set(self.known_languages):
                raise ValueError(f"{where}: gap languages {sorted(bad)} are not the task's")
        for source in self.hub:
            if bad := set(source.languages) - set(self.known_languages):
                raise ValueError(f"{where}: hub {source.repo} languages {sorted(bad)} unknown")

    def benchmark_languages(self, benchmark: str) -> tuple[str, ...]:
        """The languages ``benchmark`` scores the task in: its own, then the benchmark's extras."""
        return self.languages + self.extra_languages.get(benchmark, ())

    @property
    def known_languages(self) -> tuple[str, ...]:
        """The task's languages, then every benchmark's extras."""
        extras = (lang for langs in self.extra_languages.values() for lang in langs)
        return tuple(dict.fromkeys((*self.languages, *extras)))

    def declared_gap(self, split: str, lang: str) -> str | None:
        """Why ``split`` of ``lang`` is declared absent (None: it is not)."""
        for gap in self.gaps:
            if gap.split == split and (not gap.languages or lang in gap.languages):
                return gap.reason
        return None

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
        train_examples=392_702,
        hub=(_glue("mnli", _NLI_IDX, validation="validation_matched"),),
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
        train_examples=87_599,
        hub=(
            HubSource(
                "rajpurkar/squad",
                "plain_text",
                SpanQAColumns(),
                {"train": "train", "validation": "validation"},
                unverified="file paths (expected plain_text/<split>-*)",
            ),
        ),
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
        train_examples=162_865 + 550_152 + 392_702,
        hub=(
            *(
                HubSource(
                    "facebook/anli",
                    "plain_text",
                    ClassificationColumns(text_a="premise", text_b="hypothesis", id="uid"),
                    {"train": f"train_r{r}", "validation": f"dev_r{r}"},
                )
                for r in (1, 2, 3)
            ),
            # SNLI pairs without annotator consensus carry label -1 (dropped, counted)
            HubSource(
                "stanfordnlp/snli",
                "plain_text",
                ClassificationColumns(text_a="premise", text_b="hypothesis"),
                {"train": "train"},
                unlabelled=("train",),
            ),
            _glue("mnli", _NLI_IDX, validation=None),
        ),
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
        train_examples=363_846,
        hub=(
            _glue("qqp", ClassificationColumns("question1", "question2", id="idx", label_map=_QQP)),
        ),
        local={"loader": "qqp_tsv", "train": "QQP/train.tsv", "validation": "QQP/dev.tsv"},
        description="Quora Question Pairs, paraphrase (363,846 train; accuracy and F1)",
    ),
    Task(
        name="sst2",
        format="classification",
        role="intermediate",
        metrics=("accuracy",),
        labels=("0", "1"),
        train_examples=67_349,
        hub=(_glue("sst2", ClassificationColumns("sentence", id="idx", label_map=_SST2)),),
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
        train_examples=130_319,
        hub=(
            HubSource(
                "rajpurkar/squad_v2",
                "squad_v2",
                SpanQAColumns(),
                {"train": "train", "validation": "validation"},
            ),
        ),
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
        train_examples=39_905,
        hub=(
            HubSource(
                "Rowan/hellaswag",
                "default",
                MultipleChoiceColumns(
                    label="label",
                    label_kind="index_string",
                    choices="endings",
                    context="ctx_a",
                    question="ctx_b",
                    id="ind",
                ),
                {"train": "train", "validation": "validation"},
                data_dir="data",
            ),
        ),
        local={
            "loader": "hellaswag_jsonl",
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
        # script-only on main (cosmos_qa.py): read from the parquet-converter branch
        train_examples=25_262,
        hub=(
            HubSource(
                "allenai/cosmos_qa",
                "default",
                MultipleChoiceColumns(
                    label="label",
                    label_kind="index",
                    choice_columns=("answer0", "answer1", "answer2", "answer3"),
                    context="context",
                    question="question",
                    id="id",
                ),
                {"train": "train", "validation": "validation"},
                revision=CONVERT,
                unverified="that refs/convert/parquet exists (the hub viewer is disabled)",
            ),
        ),
        local={
            "loader": "cosmosqa_csv",
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
        train_examples=9_741,
        hub=(
            HubSource(
                "tau/commonsense_qa",
                "default",
                MultipleChoiceColumns(
                    label="answerKey",
                    label_kind="choice_key",
                    choices="choices",
                    choice_text="text",
                    question="question",
                    id="id",
                ),
                {"train": "train", "validation": "validation"},
                data_dir="data",
            ),
        ),
        local={
            "loader": "commonsenseqa_jsonl",
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
        train_examples=39_604,
        licence=CCGBANK_HELP,
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
        # allenai/social_i_qa is script-only: its parquet mirror (docs/hub.md)
        train_examples=33_410,
        hub=(
            HubSource(
                "lighteval/siqa",
                "default",
                MultipleChoiceColumns(
                    label="label",
                    label_kind="one_based_string",
                    choice_columns=("answerA", "answerB", "answerC"),
                    context_template="{context} {question}",
                ),
                _TRAIN,
                data_dir="data",
            ),
        ),
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
        train_examples=400,
        hub=(
            HubSource(
                "aps/super_glue",
                "copa",
                _copa_columns("choice_column"),
                _TRAIN,
                revision="refs/pr/16",
                unverified="the format of main (read from the parquet-conversion PR refs/pr/16)",
            ),
        ),
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
        # the answer-less questions of no sentence are skipped, as XTREME-R (dropped, counted)
        train_examples=87_599,
        hub=(
            HubSource(
                "rajpurkar/squad",
                "plain_text",
                DualEncoderColumns(),
                _TRAIN,
                unlabelled=("train", "validation"),
                unverified="file paths (expected plain_text/<split>-*)",
            ),
        ),
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
        eval_examples=5_010,
        hub=(
            HubSource(
                "facebook/xnli", "{lang}", _XNLI, {"validation": "validation", "test": "test"}
            ),
        ),
        local={
            "loader": "xtreme_pair_tsv",
            "validation": "xnli/dev-{lang}.tsv",
            "test": "xnli/test-{lang}.tsv",
        },
        gold=(
            "XTREME's test-{lang}.tsv have no labels: use XNLI-1.0/xnli.test.tsv (loader "
            "xnli_tsv) or facebook/xnli"
        ),
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
        train_examples=49_401,
        eval_examples=2_000,
        hub=(_xtreme("PAWS-X.{lang}", ClassificationColumns("sentence1", "sentence2")),),
        local={
            "loader": "xtreme_pair_tsv",
            "train": "pawsx/train-en.tsv",
            "validation": "pawsx/dev-{lang}.tsv",
            "test": "pawsx/test-{lang}.tsv",
        },
        gold=(
            "XTREME's test-{lang}.tsv have no labels: use x-final/{lang}/test_2k.tsv (loader "
            "pawsx_tsv) from PAWS-X's x-final.tar.gz"
        ),
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
        tag_scheme="full_tag",
        multiword="fused",  # XTREME's conversion (docs/hub.md, "UD-POS multiword tokens")
        epochs=10,
        extra_languages={"xtreme-r": _UDPOS_R},
        train_examples=12_543,
        eval_examples=1_500,
        hub=(
            _xtreme(
                "udpos.{lang_name}",
                TaggingColumns(tags="pos_tags"),
                lang_names=UDPOS_LANG_NAMES,
                multiword="subtokens",
            ),
            # one <lang>/test.parquet per language, no dataset_info: integer tags are read in
            # google/xtreme's udpos ClassLabel order (its README dataset_info), string tags as
            # names (docs/hub.md, "izhx/xtreme-r-udpos")
            HubSource(
                "izhx/xtreme-r-udpos",
                "{lang}",
                TaggingColumns(tags="pos_tags", tag_names=UPOS_LABELS),
                {"test": "test"},
                languages=_UDPOS_R,
                unverified="its configs for lt/pl/uk/wo/ro, its columns (tokens, pos_tags) and "
                "their type (integer tags are read in the declared UPOS order)",
            ),
        ),
        gaps=(
            Gap("validation", ("kk", "th", "tl", "yo"), "UD v2.5 has no dev data for it"),
            Gap("validation", _UDPOS_R, "XTREME-R's UD v2.7 extras: test sets only"),
        ),
        local={
            "loader": "conllu",
            "train": "udpos/en_*-ud-train.conllu",
            "validation": "udpos/{lang}_*-ud-dev.conllu",
            "test": "udpos/{lang}_*-ud-test.conllu",
        },
        gold=(
            "XTREME's test files have no tags: use the UD v2.5 treebanks' *-ud-test.conllu (ud-"
            "treebanks-v2.5.tgz)"
        ),
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
        tag_scheme="iob2",
        epochs=10,
        extra_languages={"xtreme-r": _PANX_R},
        train_examples=20_000,
        eval_examples=7_000,
        hub=(
            _xtreme("PAN-X.{lang}", TaggingColumns(tags="ner_tags")),
            # WikiANN's configs: the same Rahimi splits and tag order (docs/hub.md)
            HubSource(
                "unimelb-nlp/wikiann",
                "{lang}",
                TaggingColumns(tags="ner_tags"),
                _EVAL,
                revision=CONVERT,
                languages=_PANX_R,
                unverified="the layout of main (read from refs/convert/parquet)",
            ),
        ),
        local={
            "loader": "panx_tokens",
            "train": "panx/panx_dataset/en/train",
            "validation": "panx/panx_dataset/{lang}/dev",
            "test": "panx/panx_dataset/{lang}/test",
        },
        gold=(
            "XTREME's test files have no tags: use the panx_dataset {lang}/test files "
            "(AmazonDrive download of XTREME)"
        ),
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
        extra_languages={"xtreme-r": _XQUAD_R},
        eval_examples=1_250,
        hub=(
            _xtreme(
                "XQuAD.{lang}",
                SpanQAColumns(title=None, stripped=True),
                splits={"test": "validation"},
            ),
            HubSource(
                "google/xquad",
                "xquad.{lang}",
                SpanQAColumns(title=None),
                {"test": "validation"},
                languages=_XQUAD_R,
            ),
        ),
        gaps=(Gap("validation", (), _ONE_SPLIT.format(select="SQuAD v1.1 dev")),),
        local={"loader": "squad_json", "test": "xquad/xquad.{lang}.json"},
        gold="labelled files: google-deepmind/xquad xquad.{lang}.json",
        description="XQuAD: SQuAD v1.1 dev translated into 10 languages",
    ),
    Task(
        name="mlqa",
        format="span_qa",
        role="target",
        normalise_by_language=True,
        metrics=QA,
        languages=MLQA_LANGS,
        train_task="squad_v1",
        max_length=384,
        epochs=2,
        batch_size=16,
        eval_examples=5_000,
        hub=(_xtreme("MLQA.{lang}.{lang}", SpanQAColumns(stripped=True), splits=_EVAL),),
        local={
            "loader": "squad_json",
            "validation": "mlqa/MLQA_V1/dev/dev-context-{lang}-question-{lang}.json",
            "test": "mlqa/MLQA_V1/test/test-context-{lang}-question-{lang}.json",
        },
        gold=(
            "XTREME strips answers from MLQA test: use MLQA_V1.zip (test/test-"
            "context-{lang}-question-{lang}.json)"
        ),
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
        train_examples=3_696,
        eval_examples=600,
        hub=(
            _xtreme(
                "tydiqa",
                SpanQAColumns(stripped=True),
                splits={"train": "train", "validation": "validation", "test": "validation"},
                id_prefix={lang: f"{name}-" for lang, name in TYDIQA_LANG_NAMES.items()},
            ),
        ),
        gaps=(
            Gap(
                "validation",
                tuple(lang for lang in TYDIQA_LANGS if lang != "en"),
                _ONE_SPLIT.format(select="the English GoldP dev set (= test.en)"),
            ),
        ),
        local={
            "loader": "squad_json",
            "train": "tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json",
            "validation": "tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.en.dev.json",
            "test": "tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json",
        },
        gold=(
            "XTREME strips the GoldP dev answers: use tydiqa-goldp-v1.1-dev.json from google-"
            "research-datasets/tydiqa"
        ),
        description="TyDiQA-GoldP (XTREME's split: dev serves as test)",
    ),
    Task(
        name="bucc",
        format="retrieval",
        role="target",
        mined_pairs=True,
        metrics=("f1",),
        languages=BUCC_LANGS,
        max_length=512,
        eval_examples=660_000,
        local={
            "loader": "bucc_pairs",
            "validation": "bucc2018/{lang}-en.dev.gold",
            "test": "bucc2018/{lang}-en.test.gold",
        },
        gold=(
            "XTREME's download script deletes the test gold: use bucc2018-{lang}-en.training-gold"
            " from comparable.limsi.fr (BUCC 2018), renamed {lang}-en.test.gold"
        ),
        description="BUCC 2018 bitext mining (ratio margin, threshold tuned on the sample set)",
    ),
    Task(
        name="tatoeba",
        format="retrieval",
        role="target",
        metrics=("accuracy",),
        languages=TATOEBA_LANGS,
        max_length=512,
        extra_languages={"xtreme-r": _TATOEBA_R},
        eval_examples=2_000,
        hub=(
            _xtreme("tatoeba.{lang3}", RetrievalColumns(), splits={"test": "validation"}),
            HubSource(
                "mteb/tatoeba-bitext-mining",
                "{lang3}-eng",
                RetrievalColumns(source="sentence1", target="sentence2"),
                {"test": "test"},
                revision=CONVERT,
                languages=_TATOEBA_R,
                unverified="the JSON layout of main (read from refs/convert/parquet)",
            ),
        ),
        local={"loader": "tatoeba_txt", "test": "tatoeba/tatoeba.{lang3}-eng.{lang3}"},
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
        hub=(
            HubSource(
                "cambridgeltl/xcopa",
                "{lang}",
                _copa_columns("index"),
                _EVAL,
            ),
        ),
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
        pooled=True,  # utils_lareqa.py mean_avg_prec_at_k: one mean over every question
        train_task="squad_v1_retrieval",
        selection_task="squad_v1_retrieval",
        epochs=3,
        batch_size=16,
        learning_rate=2e-5,
        gaps=(Gap("validation", (), _ONE_SPLIT.format(select="SQuAD v1.1 dev (LAReQA pairs)")),),
        local={"loader": "xquad_r", "test": "lareqa/xquad-r/{lang}.json"},
        description="LAReQA on XQuAD-R (XTREME-R): answer sentences retrieved from all "
        "11 languages' pooled candidates by a dual encoder trained on SQuAD v1.1 (mAP@20)",
    ),
    Task(
        name="mewslix",
        format="dual_encoder",
        role="target",
        one_gold=True,
        metrics=("map@20",),
        languages=MEWSLIX_LANGS,
        train_task="mewslix",
        epochs=2,
        batch_size=64,
        learning_rate=2e-5,
        mean_tokens=100,  # a mention's sentence and an entity description
        local={
            "loader": "mewslix_jsonl",
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
    base: Task, languages: tuple[str, ...], train: str, validation: str, hub: tuple = ()
) -> Task:
    return replace(
        base,
        name=base.name + TRANSLATE_TRAIN,
        languages=languages,
        hub=hub,
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
        # facebook/xnli's train split of each language is XNLI-MT (docs/hub.md)
        hub=(
            HubSource("facebook/xnli", "{lang}", _XNLI, {"train": "train"}),
            HubSource("nyu-mll/glue", "mnli", _NLI_IDX, {"validation": "validation_matched"}),
        ),
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


# Tasks of a researcher's own: Python files that call ``register`` (and, for a benchmark of
# their own, ``xstilts.benchmarks.register``), named by the config's ``task_files``. A process
# that ran them passes them on to its jobs in this environment variable (``declare_from_env``).
TASK_FILES_ENV = "XSTILTS_TASK_FILES"
_DECLARED: list[str] = []


class TaskFileError(ValueError):
    """A task file that fails to run or declares a name that is taken."""


def register(task: Task) -> None:
    """Add a task (from a task file); ValueError if its name is taken."""
    if task.name in TASKS:
        raise ValueError(f"task {task.name!r} is already declared")
    TASKS[task.name] = task


def declare(paths) -> None:
    """Run each task file once per process (``TaskFileError`` naming a file that fails) and
    record them in ``TASK_FILES_ENV`` for the jobs this process starts."""
    for path in map(str, (Path(p).resolve() for p in paths)):
        if path in _DECLARED:
            continue
        spec = importlib.util.spec_from_file_location(f"xstilts_task_file_{len(_DECLARED)}", path)
        try:
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
        except Exception as e:
            raise TaskFileError(f"task file {path}: {type(e).__name__}: {e}") from e
        _DECLARED.append(path)
        os.environ[TASK_FILES_ENV] = os.pathsep.join(_DECLARED)


def declare_from_env() -> None:
    """Run the task files the parent process recorded (``declare``)."""
    declare(p for p in os.environ.get(TASK_FILES_ENV, "").split(os.pathsep) if p)


def get(name: str) -> Task:
    """The task called ``name``; a KeyError that lists the known tasks otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}") from None


def restrict(task: Task, languages, local: bool = False) -> Task:
    """The task in ``languages`` (None: its own): some of its own (smoke runs, tests, a study's
    own data), those a benchmark adds (``extra_languages``, after its own) and, from ``local``
    files, any other (after those)."""
    if not languages:
        return task
    extra = [lang for lang in task.known_languages if lang not in task.languages]
    unknown = sorted(set(languages) - set(task.known_languages))
    if unknown and local:
        extra += [lang for lang in languages if lang in unknown]
    elif unknown:
        raise DataFormatError(
            f"task {task.name}: languages {unknown} are not the task's "
            f"({', '.join(task.languages)}) nor a benchmark's ({', '.join(extra) or 'none'}); "
            f"a language of your own needs local files (data.tasks.{task.name}.source: local)"
        )
    keep = tuple(lang for lang in (*task.languages, *dict.fromkeys(extra)) if lang in languages)
    gaps = tuple(
        replace(g, languages=tuple(x for x in g.languages if x in keep))
        for g in task.gaps
        if not g.languages or set(g.languages) & set(keep)
    )
    return replace(task, languages=keep, gaps=gaps)


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
