"""The model a task trains and evaluates: a fresh task head on an encoder."""

from __future__ import annotations

from xstilts import formats, registry


def load_model(encoder: str, task, **kwargs):
    """A fresh task head on top of ``encoder`` (hub id or folder); a format module with its own
    model (``load_model``: the dual encoder) builds it."""
    import torch
    import transformers

    fmt = formats.get(task.format)
    if hasattr(fmt, "load_model"):
        return fmt.load_model(encoder, task, **kwargs)
    auto = getattr(transformers, registry.AUTO_MODEL[task.format])
    kwargs.setdefault("dtype", torch.float32)  # train from fp32 weights, whatever is stored
    return auto.from_pretrained(encoder, **formats.get(task.format).model_kwargs(task), **kwargs)
