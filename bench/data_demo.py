"""Build time, peak memory and size on disk of the synthetic demo, per size.

Each build runs in a fresh child process so its peak resident memory is its own.

    python bench/data_demo.py                 # small and medium
    python bench/data_demo.py --sizes tiny small
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from fedmeki_data.synthetic.demo import build_demo
start = time.perf_counter()
manifest = build_demo(sys.argv[1], size=sys.argv[2])
seconds = time.perf_counter() - start
rows = sum(info["rows"] for task in manifest["tasks"].values() for info in task["splits"].values())
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rows": rows, "peak_mib": peak_mib}))
"""


def measure(size: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "data"
        start = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", _CHILD, str(out), size], capture_output=True, text=True,
                               check=True)
        wall = time.perf_counter() - start
        result = json.loads(child.stdout)
        disk = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"size": size, "wall_s": wall, "build_s": result["seconds"], "rows": result["rows"],
            "peak_rss_mib": result["peak_mib"], "disk_mib": disk / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["small", "medium"])
    args = parser.parse_args()
    print(f"{'size':<8}{'rows':>8}{'build s':>10}{'wall s':>9}{'rows/s':>9}{'peak RSS MiB':>14}{'disk MiB':>10}")
    for size in args.sizes:
        r = measure(size)
        print(f"{r['size']:<8}{r['rows']:>8}{r['build_s']:>10.1f}{r['wall_s']:>9.1f}{r['rows'] / r['build_s']:>9.0f}"
              f"{r['peak_rss_mib']:>14.0f}{r['disk_mib']:>10.1f}")


if __name__ == "__main__":
    main()
