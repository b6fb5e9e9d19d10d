"""Retrieval by a dual encoder: XTREME-R's LAReQA (XQuAD-R) and Mewsli-X, scored by mAP@20.

Records. Queries (``{split}.{lang}``): ``{"id", "query", "candidate", "gold"}``: the question or
mention in context, the text of its relevant candidate in the query's language (training pairs),
and the ids of every relevant candidate (LAReQA: the answer sentence in each language; Mewsli-X:
the one gold entity). Candidates (``candidates.{lang}``): ``{"id", "text"}``; the evaluation
pools every language's candidates (LAReQA: "language-agnostic" retrieval over all of them).

The model follows XTREME's ``BertForRetrieval``: one shared encoder for queries and candidates,
the pooler output (dense + tanh over the first token) L2-normalised, trained with in-batch
negatives: softmax cross-entropy over query-candidate dot products scaled by a learned logit
scale (initially 100), each query's own candidate the target. Evaluation embeds every query and
pooled candidate, ranks candidates by dot product and scores mAP@20 per query language
(``xstilts.metrics.ranking``); the task score is their mean, which equals XTREME's mAP over all
questions pooled when every language has as many questions (XQuAD-R: 1190 each, less the few
whose answer starts in no sentence). Checkpoints are selected on the validation loss.
"""

from __future__ import annotations

import numpy as np

from xstilts.metrics.ranking import K, average_precision_at_k, rank_by_score

CANDIDATES = "candidates"  # split prefix of the candidate pool
PREFIX = "candidate_"  # feature columns of a training pair's candidate side
selection_metric = None  # select on the in-batch contrastive loss


def model_kwargs(task) -> dict:
    return {}


def load_model(encoder: str, task, **kwargs):
    """The dual encoder on the pretrained (or intermediate) encoder at ``encoder``."""
    import torch
    from transformers import AutoModel

    kwargs.setdefault("dtype", torch.float32)  # train from fp32 weights, whatever is stored
    return _dual_encoder_class()(AutoModel.from_pretrained(encoder, **kwargs))


def _dual_encoder_class():
    import torch

    class DualEncoder(torch.nn.Module):
        """Shared tower; ``save_pretrained`` writes the encoder (its pooler included) alone."""

        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            self.config = encoder.config
            self.logit_scale = torch.nn.Parameter(torch.tensor([100.0]))

        @property
        def base_model(self):
            return self.encoder

        def embed(self, input_ids, attention_mask):
            """The pooler's output (XTREME-R's [CLS] pooling); the first token's last hidden
            state for a family with no pooler (DeBERTa-v2, ModernBERT, ELECTRA)."""
            out = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
            pooled = getattr(out, "pooler_output", None)
            if pooled is None:
                pooled = out.last_hidden_state[:, 0]
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

        def forward(
            self,
            input_ids,
            attention_mask,
            candidate_input_ids=None,
            candidate_attention_mask=None,
            return_loss=True,
        ):
            queries = self.embed(input_ids, attention_mask)
            if candidate_input_ids is None:  # inference: one tower's embeddings
                return {"embeddings": queries}
            candidates = self.embed(candidate_input_ids, candidate_attention_mask)
            logits = queries @ candidates.T * self.logit_scale
            target = torch.arange(len(queries), device=logits.device)
            return {"loss": torch.nn.functional.cross_entropy(logits, target), "logits": logits}

        def save_pretrained(self, folder, **kwargs):
            self.encoder.save_pretrained(folder, **kwargs)

    return DualEncoder


def featurize(dataset, tokenizer, task, max_length: int, train: bool):
    """Training pairs (``train``, and the selection split): query and candidate token ids;
    otherwise the query's (query splits) or the candidate's (``candidates.*``) alone."""
    if "text" in dataset.column_names:  # a candidate pool

        def encode(batch):
            return tokenizer(batch["text"], truncation=True, max_length=max_length)

    elif train:

        def encode(batch):
            enc = tokenizer(batch["query"], truncation=True, max_length=max_length)
            cand = tokenizer(batch["candidate"], truncation=True, max_length=max_length)
            enc.update({PREFIX + k: v for k, v in cand.items() if k != "token_type_ids"})
            return enc

    else:

        def encode(batch):
            return tokenizer(batch["query"], truncation=True, max_length=max_length)

    return dataset.map(encode, batched=True, remove_columns=dataset.column_names)


class Collator:
    """Pads the query side and, for training pairs, the candidate side, each to its longest."""

    def __init__(self, tokenizer, pad_to_multiple_of: int | None = None):
        self.tokenizer = tokenizer
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, examples: list[dict]) -> dict:
        sides = {"": {}, PREFIX: {}}
        for prefix in sides:
            keys = [k for k in ("input_ids", "attention_mask") if prefix + k in examples[0]]
            if keys:
                rows = [{k: e[prefix + k] for k in keys} for e in examples]
                padded = self.tokenizer.pad(
                    rows, pad_to_multiple_of=self.pad_to_multiple_of, return_tensors="pt"
                )
                sides[prefix] = {prefix + k: padded[k] for k in keys}
        return {**sides[""], **sides[PREFIX]}


def collator(tokenizer, pad_to_multiple_of: int | None = None) -> Collator:
    return Collator(tokenizer, pad_to_multiple_of)


def score_rankings(
    queries: dict[str, list[dict]],
    query_vectors: dict[str, np.ndarray],
    candidate_ids: list[str],
    candidate_vectors: np.ndarray,
    k: int = K,
) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """Per query language: mAP@k (percent) over the pooled candidates, and per query its top k
    (the task score pools the languages' questions: registry ``pooled``)."""
    metrics, predictions = {}, {}
    for lang, rows in queries.items():
        scores = query_vectors[lang] @ candidate_vectors.T
        aps, preds = [], []
        for row, row_scores in zip(rows, scores, strict=True):
            top = [candidate_ids[i] for i in rank_by_score(row_scores)[:k]]
            ap = average_precision_at_k(row["gold"], top, k)
            aps.append(ap)
            preds.append({"id": row["id"], "prediction": top, "gold": list(row["gold"]), "ap": ap})
        metrics[lang] = {"map@20" if k == 20 else f"map@{k}": 100.0 * float(np.mean(aps))}
        predictions[lang] = preds
    return metrics, predictions


def metrics(rows: list[dict], task, lang: str) -> dict:
    """mAP@20 (percent) of saved rankings: each row's top candidates and its gold ids."""
    aps = [average_precision_at_k(r["gold"], r["prediction"], K) for r in rows]
    return {"map@20" if K == 20 else f"map@{K}": 100.0 * float(np.mean(aps))}
