"""One way to load a model's tokenizer, for the tokenising job and the model jobs alike.

``AutoTokenizer`` reads the model's configuration, and transformers' configuration module
imports torch (2-3 s per job). Where the model folder's ``tokenizer_config.json`` names its
tokenizer class (as every tokenizer saved by transformers does), that class is loaded directly,
as ``AutoTokenizer`` would after reading the name, and torch stays unimported; otherwise (a hub
id, or a repository with no class named: ``microsoft/mdeberta-v3-base``, a BERT holding only
``vocab.txt``) ``AutoTokenizer`` decides from the model's ``config.json``, and imports torch
(transformers' model-type-to-tokenizer table lives in modules that import it; copying the table
here would make a second owner of it).
"""

from __future__ import annotations

import json
from pathlib import Path


def _named_class(ref: str):
    config = Path(ref) / "tokenizer_config.json"
    if not config.is_file():
        return None
    name = json.loads(config.read_text(encoding="utf-8")).get("tokenizer_class")
    if not name:
        return None
    import transformers

    return getattr(transformers, name, None)


def load(ref: str):
    """The tokenizer of the model folder (or hub id) ``ref``."""
    ref = str(ref)
    cls = _named_class(ref)
    if cls is None:
        from transformers import AutoTokenizer

        cls = AutoTokenizer
    return cls.from_pretrained(ref)
