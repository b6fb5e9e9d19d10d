"""A tiny encoder for the demo and the tests (XLM-R unless ``architecture.model_type`` names
another family): tokenizer trained locally, MLM warm-up.

The result is an ordinary Hugging Face model directory (config, safetensors, tokenizer), so every
later phase loads it exactly as it loads ``FacebookAI/xlm-roberta-large`` from the hub.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

log = logging.getLogger(__name__)


def train_tokenizer(texts, vocab_size: int):
    """A sentencepiece-style tokenizer with XLM-R's special tokens and templates.

    BPE over Metaspace pre-tokens rather than XLM-R's Unigram: the ``tokenizers`` Unigram trainer
    is not deterministic, and the demo must be reproducible to the bit.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()]
    )
    tok.decoder = decoders.Metaspace()
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=specials)
    tok.train_from_iterator(texts, trainer=trainer)
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )


def _architecture(architecture: dict) -> dict:
    """The spec's architecture with its defaults: an XLM-R of 514 positions."""
    return {"model_type": "xlm-roberta", "max_position_embeddings": 514, **architecture}


def build_model(tokenizer, architecture: dict):
    """A randomly initialised masked LM of the given size and family: ``model_type`` (default
    ``xlm-roberta``) picks the architecture, every other key of ``architecture`` is its config's."""
    from transformers import AutoConfig, AutoModelForMaskedLM

    arch = _architecture(architecture)
    specials = {
        f"{name}_token_id": getattr(tokenizer, f"{name}_token_id")
        for name in ("pad", "bos", "eos")
        if getattr(tokenizer, f"{name}_token_id") is not None
    }
    model_type = arch.pop("model_type")
    config = AutoConfig.for_model(model_type, vocab_size=len(tokenizer), **{**specials, **arch})
    return AutoModelForMaskedLM.from_config(config)


def mlm_warmup(
    model,
    tokenizer,
    texts: list[str],
    steps: int,
    seed: int,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    max_length: int = 64,
) -> float:
    """Masked-language-model training for ``steps`` updates; returns the last loss.

    The vocabulary projection runs on the masked positions only (as fairseq's RoBERTa does):
    the loss is the masked LM's, and the step costs a sixth of projecting every position.
    """
    import torch
    from transformers import DataCollatorForLanguageModeling

    torch.manual_seed(seed)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, fused=True)  # one kernel
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, 1 - s / steps)
    )
    generator = torch.Generator().manual_seed(seed)
    model.train()
    loss = math.nan
    for step in range(steps):
        idx = torch.randint(len(encoded), (batch_size,), generator=generator).tolist()
        batch = collator([{"input_ids": encoded[i]} for i in idx])
        masked = batch["labels"] != -100
        if hasattr(model, "roberta"):  # XLM-R: project the masked positions only
            hidden = model.roberta(batch["input_ids"], batch["attention_mask"]).last_hidden_state
            logits = model.lm_head(hidden[masked])
            step_loss = torch.nn.functional.cross_entropy(logits, batch["labels"][masked])
        else:  # any other family: its own masked-LM head and loss
            step_loss = model(**batch).loss
        step_loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        loss = step_loss.item()
        if step % 50 == 0 or step == steps - 1:
            log.info("mlm step %d/%d loss %.3f", step + 1, steps, loss)
    return loss


def _corpus(spec: dict, languages: list[str], seed: int) -> list[str]:
    from xstilts import synthetic

    sizes = spec.get("corpus_sentences")
    per_language = spec.get("corpus_sentences_per_language", 400)
    return list(synthetic.corpus(languages, per_language, seed, sizes=sizes))


def build_tokenizer(out_dir: Path, spec: dict, languages: list[str], seed: int) -> dict:
    """Train the tokenizer on the build's corpus and save it to ``out_dir``: its own job, so the
    tokenisation of every task can start while the model's MLM warm-up runs."""
    tokenizer = train_tokenizer(_corpus(spec, languages, seed), spec.get("vocab_size", 4000))
    tokenizer.model_max_length = _architecture(spec["architecture"])["max_position_embeddings"] - 2
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out_dir)
    return {"vocab_size": len(tokenizer), "model_max_length": tokenizer.model_max_length}


def build(
    out_dir: Path, spec: dict, languages: list[str], seed: int, tokenizer_dir: Path | None = None
) -> dict:
    """Build the model for the tokenizer in ``tokenizer_dir`` (None: train it into ``out_dir``
    first), warm it up with MLM on the same corpus and save both to ``out_dir``."""
    import torch
    from transformers import AutoTokenizer

    if tokenizer_dir is None:
        tokenizer_dir = out_dir
        build_tokenizer(out_dir, spec, languages, seed)
    texts = _corpus(spec, languages, seed)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    torch.manual_seed(seed)  # the random initial weights are part of what the seed fixes
    model = build_model(tokenizer, spec["architecture"])
    loss = mlm_warmup(model, tokenizer, texts, spec.get("mlm_steps", 200), seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {"corpus_sentences": len(texts), "vocab_size": len(tokenizer), "final_mlm_loss": loss}
