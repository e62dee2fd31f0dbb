"""Readers of the eight raw sources, one module per source, all with the contract of :mod:`.base`.

The registry maps each task to its source module; builders reach sources only through it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from fedmeki_data.errors import UsageError
from fedmeki_data.tasks import get_task

SOURCE_MODULES: dict[str, str] = {
    "lung_opacity": "rsna",
    "covid19": "covid",
    "ecg_abnormal": "ptbxl",
    "mortality": "mimic3",
    "sepsis": "physionet2019",
    "enlarged_cardiomediastinum": "chexpert",
    "medical_vqa": "vqa",
    "ecg_noise_clarification": "ecgqa",
}
"""Task id -> module of :mod:`fedmeki_data.sources` that reads its raw source."""


def source_module(task: str) -> ModuleType:
    """The source module of ``task`` (imported on first use: pydicom, wfdb and openpyxl are optional extras).

    Raises
    ------
    UsageError
        If the ``[sources]`` extra is not installed.
    """
    try:
        return importlib.import_module(f"{__name__}.{SOURCE_MODULES[get_task(task).id]}")
    except ModuleNotFoundError as error:
        if error.name not in _EXTRA:
            raise
        raise UsageError(f"Building {task} needs {error.name}, which is not installed.",
                         hint="pip install 'fedmeki-data[sources]'") from None


_EXTRA = ("pydicom", "wfdb", "openpyxl")
