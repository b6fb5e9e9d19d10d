"""Can this node's NVIDIA driver run the installed torch's CUDA build? Read without importing torch.

CUDA's minor-version compatibility lets a CUDA 12.x build run on any driver of the 12 series
(>= 525.60.13) and a 13.x build on any of the 13 series (>= 580.65.06); an older driver fails at
the first CUDA call. ``make lock`` offers a lock per CUDA major (README "GPU environment").
"""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import util

MIN_DRIVER = {12: "525.60.13", 13: "580.65.06"}  # Linux, per CUDA major: locks/gpu-cuda<major>.txt


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


def torch_cuda() -> str | None:
    """The CUDA version the installed torch wheel was built for (``torch.version.cuda``), read
    from its ``version.py``; None for a CPU build or without torch."""
    spec = util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        try:
            text = open(f"{folder}/version.py").read()
        except OSError:
            continue
        found = re.search(r"^cuda\s*(?::[^=]+)?=\s*['\"]([\d.]+)['\"]", text, re.M)
        return found.group(1) if found else None
    return None


def driver_version() -> str | None:
    """The NVIDIA driver's version (``nvidia-smi``); None where there is none."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        run = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = run.stdout.split()
    return lines[0] if run.returncode == 0 and lines else None


def fit(cuda: str | None, driver: str | None) -> tuple[bool, str]:
    """(fits, one line saying so) for torch's CUDA build and the driver's version."""
    if cuda is None:
        return False, f"torch is a CPU build (no CUDA); NVIDIA driver {driver or 'none'}"
    if driver is None:
        return False, f"torch built for CUDA {cuda}, but no NVIDIA driver found (nvidia-smi)"
    major = _key(cuda)[0]
    need = MIN_DRIVER.get(major)
    if need is None:
        return False, f"torch built for CUDA {cuda}: no known minimum driver for CUDA {major}"
    if _key(driver) < _key(need):
        runs = [m for m, v in MIN_DRIVER.items() if _key(driver) >= _key(v)]
        other = (
            f"install locks/gpu-cuda{runs[-1]}.txt (README 'GPU environment') or " if runs else ""
        )
        return False, (
            f"NVIDIA driver {driver} cannot run torch's CUDA {cuda} build (needs driver >= {need}):"
            f" {other}update the driver"
        )
    return True, f"NVIDIA driver {driver} runs torch's CUDA {cuda} build (needs >= {need})"
