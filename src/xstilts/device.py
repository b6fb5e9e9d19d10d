"""One place decides where a job's model runs and in which precision: training, evaluation and
retrieval embedding all ask :func:`select`.

- A CUDA GPU when one is visible (under ``torchrun`` the process's own, ``cuda:LOCAL_RANK``),
  else the CPU.
- bf16 autocast where the GPU supports it (Ampere and later); fp32 otherwise and on CPUs.
  Weights stay fp32 (the master copy): autocast only lowers the precision of the matmuls, so a
  saved model is fp32 whatever the device.

``Placement.model(m)`` moves a model there, ``Placement.batch(b)`` a batch of tensors, and
``with placement.autocast():`` runs the forward passes in the chosen precision.
``Placement.pad_multiple`` is what the collators round batch lengths up to: 64 on GPUs (whole
tensor-core tiles, and few distinct shapes for the kernels and ``torch.compile``), nothing on
CPUs, where padding only adds work.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass

GPU_PAD_MULTIPLE = 64


@dataclass(frozen=True)
class Placement:
    """Device (``"cuda:0"``, ``"cpu"``) and whether forward passes autocast to bf16."""

    device: str
    bf16: bool

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def pad_multiple(self) -> int | None:
        """Batch lengths are padded up to a multiple of this (None: to the longest member)."""
        return GPU_PAD_MULTIPLE if self.cuda else None

    @property
    def dtype(self):
        """The compute dtype of the forward passes (weights stay fp32)."""
        import torch

        return torch.bfloat16 if self.bf16 else torch.float32

    def autocast(self):
        """Context for forward passes: bf16 autocast where supported, else nothing."""
        if not self.bf16:
            return nullcontext()
        import torch

        return torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16)

    def model(self, model):
        """``model`` on this device, in fp32."""
        import torch

        return model.to(device=self.device, dtype=torch.float32)

    def batch(self, batch: dict) -> dict:
        """The tensors of ``batch`` on this device (other values unchanged)."""
        return {k: v.to(self.device) if hasattr(v, "to") else v for k, v in batch.items()}


def select(use_gpu: bool = True) -> Placement:
    """The placement of this process: its GPU if there is one (and ``use_gpu``), else the CPU."""
    import torch

    if use_gpu and torch.cuda.is_available():
        index = int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count()
        return Placement(f"cuda:{index}", bool(torch.cuda.is_bf16_supported()))
    return Placement("cpu", False)
