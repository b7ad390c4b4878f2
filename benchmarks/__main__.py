"""``python -m benchmarks [--quick] [--only 1,2] [--write]``: run the benchmarks and print the table."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks import (
    bench_call,
    bench_data,
    bench_fanout,
    bench_feedback,
    bench_files,
    bench_import,
    bench_payload,
    bench_process,
    bench_remote,
    bench_startup,
    bench_widget,
)
from benchmarks.harness import Config, Row, load_average, machine
from benchmarks.report import results_md, table

GROUPS = {
    "1": bench_import,
    "2": bench_call,
    "3": bench_data,
    "4": bench_process,
    "5": bench_remote,
    "6": bench_payload,
    "7": bench_files,
    "8": bench_fanout,
    "9": bench_feedback,
    "10": bench_widget,
    "11": bench_startup,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="one repetition, small data: a smoke run, not a result"
    )
    parser.add_argument("--only", default="", help="comma-separated group numbers (default: all)")
    parser.add_argument("--write", action="store_true", help="also write benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    cfg = Config.make(args.quick)
    chosen = [g for g in args.only.split(",") if g] or list(GROUPS)
    rows: list[Row] = []
    sections: list[str] = []
    load_before = load_average()
    t0 = time.perf_counter()
    for key in chosen:
        module = GROUPS[key]
        print(
            f"[{time.perf_counter() - t0:6.1f}s] group {key}: {module.__name__}", file=sys.stderr, flush=True
        )
        rows += module.rows(cfg)
        section = getattr(module, "SECTION", "")  # extra Markdown for RESULTS.md (an import profile)
        if section:
            sections.append(section)
    elapsed = time.perf_counter() - t0
    print(table(rows))
    print(f"\n{len(rows)} rows in {elapsed:.0f} s{' (quick: not a result)' if cfg.quick else ''}")
    if args.write:
        path = Path(__file__).with_name("RESULTS.md")
        info = {**machine(), "load": f"{load_before} at the start, {load_average()} at the end"}
        path.write_text(results_md(rows, info, elapsed, cfg.reps, sections))
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
