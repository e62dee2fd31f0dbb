"""Running the installed `fedmeki` console script and checking its one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

FEDMEKI = str(Path(sys.executable).parent / "fedmeki")


def run(*args, env=None, cwd=None):
    return subprocess.run([FEDMEKI, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=600)


def assert_one_line_error(result, code, message):
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Error: ") and lines[1].startswith("Hint: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
