"""Readers for the original file formats of the X-STILTs benchmarks (stdlib only)."""

from collections.abc import Callable
from typing import Any

from xstilts.loaders.anli import load_anli_csv, load_anli_jsonl
from xstilts.loaders.bucc import load_bucc
from xstilts.loaders.ccgbank import CCGBANK_HELP, load_ccgbank_auto
from xstilts.loaders.conllu import load_conllu
from xstilts.loaders.errors import DataFormatError
from xstilts.loaders.glue import load_mnli_jsonl, load_mnli_tsv, load_qqp_tsv, load_sst2_tsv
from xstilts.loaders.lareqa import load_squad_sentences, load_xquad_r
from xstilts.loaders.mewslix import load_mewslix
from xstilts.loaders.multiple_choice import (
    load_commonsenseqa,
    load_copa_jsonl,
    load_cosmosqa,
    load_hellaswag,
    load_siqa_jsonl,
)
from xstilts.loaders.panx import load_panx_csv, load_panx_tokens
from xstilts.loaders.squad_json import load_squad_json
from xstilts.loaders.tatoeba import TATOEBA_LANG3, load_tatoeba, load_tatoeba_pair
from xstilts.loaders.xtreme_tsv import (
    load_pawsx_tsv,
    load_xnli_mt_tsv,
    load_xnli_tsv,
    load_xtreme_pair_tsv,
)

LOADERS: dict[str, Callable[..., Any]] = {
    "xtreme_pair_tsv": load_xtreme_pair_tsv,
    "pawsx_tsv": load_pawsx_tsv,
    "xnli_tsv": load_xnli_tsv,
    "xnli_mt_tsv": load_xnli_mt_tsv,
    "qqp_tsv": load_qqp_tsv,
    "sst2_tsv": load_sst2_tsv,
    "ccgbank_auto": load_ccgbank_auto,
    "mnli_tsv": load_mnli_tsv,
    "mnli_jsonl": load_mnli_jsonl,
    "anli_csv": load_anli_csv,
    "anli_jsonl": load_anli_jsonl,
    "squad_json": load_squad_json,
    "conllu": load_conllu,
    "panx_tokens": load_panx_tokens,
    "panx_csv": load_panx_csv,
    "bucc_pairs": load_bucc,
    "tatoeba_txt": load_tatoeba,
    "tatoeba_pair": load_tatoeba_pair,
    "hellaswag_jsonl": load_hellaswag,
    "cosmosqa_csv": load_cosmosqa,
    "commonsenseqa_jsonl": load_commonsenseqa,
    "copa_jsonl": load_copa_jsonl,
    "siqa_jsonl": load_siqa_jsonl,
    "xquad_r": load_xquad_r,
    "squad_sentences": load_squad_sentences,
    "mewslix_jsonl": load_mewslix,
}
"""Format name -> loader function."""

__all__ = [
    "CCGBANK_HELP",
    "load_ccgbank_auto",
    "load_sst2_tsv",
    "load_xnli_mt_tsv",
    "DataFormatError",
    "LOADERS",
    "TATOEBA_LANG3",
    "load_anli_csv",
    "load_anli_jsonl",
    "load_bucc",
    "load_commonsenseqa",
    "load_copa_jsonl",
    "load_conllu",
    "load_cosmosqa",
    "load_hellaswag",
    "load_siqa_jsonl",
    "load_mnli_jsonl",
    "load_mnli_tsv",
    "load_panx_csv",
    "load_panx_tokens",
    "load_pawsx_tsv",
    "load_qqp_tsv",
    "load_squad_json",
    "load_tatoeba",
    "load_tatoeba_pair",
    "load_xnli_tsv",
    "load_xtreme_pair_tsv",
]
