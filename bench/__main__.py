"""`python -m bench [suite ...]`: run the named suites (default: all) and print one table."""

from __future__ import annotations

import argparse
import importlib

from bench.common import Row, console, print_table

SUITES = ("booking", "dicom", "dicomweb", "dicomweb_render", "hl7", "hl7_out", "web")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("suites", nargs="*", choices=[*SUITES, []], default=list(SUITES))
    args = parser.parse_args()
    rows: list[Row] = []
    for name in args.suites or SUITES:
        rows += importlib.import_module(f"bench.{name}").run()
    print_table("Lysbord benchmarks", rows)
    console.print("Backends: LYSBORD_BENCH_BACKENDS=sqlite,postgresql; one machine, 2 cores.")


if __name__ == "__main__":
    main()
