"""PTB-XL reading speed: a bare ``wfdb.rdsamp`` loop beside the ``ecg_abnormal`` source reader, and a full build.

Writes N records in PTB-XL 1.0.3's layout into a temporary folder: ``ptbxl_database.csv`` with its 28 columns
and ``records100/NNNNN/<id>_lr.hea/.dat`` (the test fixtures' writer; the first 50 signals go through
``wfdb.wrsamp``, the others are byte copies of them under their own record names, which read exactly the same
and write 50 times faster). Then, sequentially and in one process:

(a) a bare loop of ``wfdb.rdsamp`` over every record;
(b) ``fedmeki_data.sources.ptbxl.list_items`` + ``load_item`` over the same records (CSV parse, checks,
    lead reordering, float32 conversion included).

The two loops alternate over blocks of 250 records, after a warm-up, so a shared machine's load hits both alike.

It prints records/s of both and their ratio (b)/(a); the reader should keep at least 0.8 of wfdb's speed.
When ``fedmeki_data.sources.build`` is installed it also runs a full ``build_sources`` of ``ecg_abnormal``
into a temporary folder for each ``--build-n`` (a fresh folder and a fresh process each, so peak RSS, from
``resource.getrusage``'s ``ru_maxrss``, belongs to that build alone): memory should stay flat as N grows.
The last line is JSON with every figure.

    python bench/build_ptbxl.py                          # N = 5000, builds of 1000 and 5000 records
    python bench/build_ptbxl.py --n 1000 --build-n 1000  # about a minute
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATES = 50
"""Distinct signals written with wfdb; the other records copy their bytes."""
BLOCK = 250
"""Records per block of the alternating timings."""
_FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fedmeki_data"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="records written and read (default: 5000)")
    parser.add_argument("--build-n", type=int, nargs="*", default=None,
                        help="record counts of the full builds (default: 1000 and --n; none: skip builds)")
    parser.add_argument("--num-proc", type=int, default=1, help="worker processes of the full builds (default: 1)")
    parser.add_argument("--keep", type=Path, help="write the records here and keep them (default: a temp folder)")
    parser.add_argument("--child-build", nargs=2, metavar=("SOURCE", "NUM_PROC"), help=argparse.SUPPRESS)
    return parser.parse_args()


def fixtures():
    """The test fixtures' PTB-XL writers (``tests/fedmeki_data/fixtures_ecg.py``), so both write one layout."""
    if str(_FIXTURES) not in sys.path:
        sys.path.insert(0, str(_FIXTURES))
    import fixtures_ecg

    return fixtures_ecg


def write_ptbxl_layout(root: Path, n: int) -> None:
    """N ECGs (three per patient, four sites, labels alternating) in PTB-XL's layout at ``root``."""
    import numpy as np

    from fedmeki_data.synthetic.ecg import simulate_ecg

    ptbxl_row, record_name = fixtures().ptbxl_row, fixtures().record_name

    scp_codes = ("{'NORM': 100.0, 'SR': 0.0}", "{'NORM': 40.0, 'IMI': 100.0, 'SR': 0.0}")
    rows = []
    for ecg_id in range(1, n + 1):
        rows.append(ptbxl_row(ecg_id, 10000 + (ecg_id - 1) // 3, (ecg_id - 1) // 7 % 4, scp_codes[ecg_id % 2]))
        name = record_name(ecg_id)
        if ecg_id <= TEMPLATES:
            signal = simulate_ecg(np.random.default_rng(ecg_id), abnormality="myocardial_infarction" if ecg_id % 2
                                  else None, device=ecg_id % 6)
            fixtures().write_record(root, ecg_id, signal)
            continue
        template = record_name((ecg_id - 1) % TEMPLATES + 1)
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / f"{template}.dat", target.with_suffix(".dat"))
        header = (root / f"{template}.hea").read_text()
        target.with_suffix(".hea").write_text(header.replace(Path(template).name, Path(name).name))
    fixtures().write_database(root, rows)


def time_loops(root: Path, names: list[str]) -> tuple[float, float, float, int]:
    """Seconds of (a) the rdsamp loop and (b) list_items + load_item, then of list_items alone, records loaded.

    The loops alternate over blocks of :data:`BLOCK` records, so load from other processes on a shared machine
    hits both alike.
    """
    import wfdb

    from fedmeki_data.sources import ptbxl
    from fedmeki_data.sources.base import BuildOptions, Record

    options = BuildOptions()
    for name in names[:TEMPLATES]:  # warm-up: wfdb's lazy imports and the first page-cache reads
        wfdb.rdsamp(str(root / name))
    start = time.perf_counter()
    items = ptbxl.list_items(root, options)
    listed = time.perf_counter() - start
    assert [item.filename_lr for item in items] == names
    bare, reader, loaded = 0.0, listed, 0
    for block in range(0, len(names), BLOCK):
        start = time.perf_counter()
        for name in names[block:block + BLOCK]:
            wfdb.rdsamp(str(root / name))
        middle = time.perf_counter()
        loaded += sum(isinstance(ptbxl.load_item(item, options), Record) for item in items[block:block + BLOCK])
        bare, reader = bare + middle - start, reader + time.perf_counter() - middle
    return bare, reader, listed, loaded


def build_function():
    """``build_sources`` of :mod:`fedmeki_data.sources.build` (or ``build_source``), None when absent."""
    try:
        from fedmeki_data.sources import build
    except ImportError:
        return None
    return getattr(build, "build_sources", None) or getattr(build, "build_source", None)


def child_build(source: Path, num_proc: int) -> None:
    """Run one full build in this (fresh) process and print its figures as JSON."""
    import resource

    build = build_function()
    with tempfile.TemporaryDirectory(prefix="fedmeki-bench-out-") as scratch:
        start = time.perf_counter()
        manifest = build({"ecg_abnormal": source}, Path(scratch) / "out", num_proc=num_proc)
        seconds = time.perf_counter() - start
    skipped = manifest.get("build", {}).get("skipped", {}).get("ecg_abnormal", {}).get("count", 0)
    print(json.dumps({"seconds": seconds, "skipped": skipped,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_build(root: Path, n: int, num_proc: int) -> dict:
    """Write ``n`` records under ``root`` and build them in a fresh process."""
    source = root / f"ptbxl-{n}"
    write_ptbxl_layout(source, n)
    result = subprocess.run([sys.executable, __file__, "--child-build", str(source), str(num_proc)],
                            capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    shutil.rmtree(source)
    return {"n": n, "records_per_s": n / figures["seconds"], **figures}


def main() -> None:
    args = parse_args()
    if args.child_build:
        child_build(Path(args.child_build[0]), int(args.child_build[1]))
        return
    with tempfile.TemporaryDirectory(prefix="fedmeki-bench-ptbxl-") as scratch:
        root = args.keep or Path(scratch) / "ptbxl"
        start = time.perf_counter()
        write_ptbxl_layout(root, args.n)
        written = time.perf_counter() - start
        names = [fixtures().record_name(ecg_id) for ecg_id in range(1, args.n + 1)]
        rdsamp, reader, listed, loaded = time_loops(root, names)
        assert loaded == args.n, f"the reader loaded {loaded} of {args.n} records"
        sizes = sorted({min(1000, args.n), args.n}) if args.build_n is None else args.build_n
        build = build_function()
        builds = [run_build(Path(scratch), n, args.num_proc) for n in sizes] if build else []
    figures = {"n": args.n, "write_s": written, "rdsamp_records_per_s": args.n / rdsamp,
               "reader_records_per_s": args.n / reader, "list_items_s": listed, "ratio": rdsamp / reader,
               "builds": builds, "build_available": build is not None}
    print(f"{'loop':<38}{'records':>9}{'seconds':>10}{'records/s':>11}")
    print(f"{'wfdb.rdsamp':<38}{args.n:>9}{rdsamp:>10.2f}{args.n / rdsamp:>11.1f}")
    print(f"{'ptbxl.list_items + load_item':<38}{args.n:>9}{reader:>10.2f}{args.n / reader:>11.1f}")
    print(f"ratio reader / rdsamp: {figures['ratio']:.3f} (target >= 0.8); list_items alone {listed:.2f} s; "
          f"writing took {written:.1f} s")
    if builds:
        print(f"{'full build (num_proc=' + str(args.num_proc) + ')':<38}{'records':>9}{'seconds':>10}"
              f"{'records/s':>11}{'peak RSS MB':>13}")
        for row in builds:
            print(f"{'build_sources ecg_abnormal':<38}{row['n']:>9}{row['seconds']:>10.2f}"
                  f"{row['records_per_s']:>11.1f}{row['peak_rss_mb']:>13.0f}")
    elif build is None:
        print("fedmeki_data.sources.build.build_sources is not available: full build not timed")
    else:
        print("full builds skipped (--build-n without counts)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
