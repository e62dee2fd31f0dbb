"""Test-session environment: offline Hugging Face libraries with caches in a throw-away folder.

Set before any test module imports `datasets` or `huggingface_hub`, which read these at import time.
"""

import atexit
import os
import shutil
import tempfile

_HF_HOME = tempfile.mkdtemp(prefix="fedmeki-tests-hf-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
if "PYTEST_XDIST_WORKER" in os.environ:
    # Two workers on two cores: torch's default of one thread per core would oversubscribe them, and
    # OpenMP threads spinning on a busy core make a training round 20-50x slower.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.update({
    "HF_HOME": _HF_HOME,
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
})
