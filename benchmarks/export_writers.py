"""The export writers alone (no database): cells/s for our xlsx and csv writers beside openpyxl's
write-only mode writing the same cells bare, and each one's peak RSS, measured in its own process.

    .venv/bin/python benchmarks/export_writers.py [--rows 10000] [--columns 100]

Prints one JSON object. The columns mix text (Thai), integers, decimals, dates and datetimes.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from exports import csvs, xlsx
from exports.sheets import Kind, Sheet

TZ = ZoneInfo("Asia/Bangkok")
WRITERS = ("xlsx", "csv", "openpyxl_write_only")
KINDS: list[Kind] = ["text", "integer", "decimal", "date", "datetime"]


def table(columns: int) -> tuple[Sheet, list[list[Any]]]:
    """A sheet and 1,000 distinct rows to cycle through (so building rows costs nothing measured)."""
    kinds = [KINDS[i % len(KINDS)] for i in range(columns)]
    sheet = Sheet(name="sidewalk_audit", headers=[f"field_{i}" for i in range(columns)], kinds=kinds)
    start = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    rows = []
    for r in range(1000):
        values: list[Any] = []
        for i, kind in enumerate(kinds):
            if kind == "text":
                values.append(f"ร้านค้า\u200bริมทาง {r}-{i}")
            elif kind == "integer":
                values.append(r * 7 + i)
            elif kind == "decimal":
                values.append((r * 13 + i) / 8)
            elif kind == "date":
                values.append(date(2026, 1, 1) + timedelta(days=(r + i) % 365))
            else:
                values.append(start + timedelta(minutes=r * 3 + i))
        rows.append(values)
    return sheet, rows


def _local(value: Any) -> Any:
    return value.astimezone(TZ).replace(tzinfo=None) if isinstance(value, datetime) else value


def run(writer: str, rows: int, columns: int) -> dict[str, Any]:
    sheet, pool = table(columns)
    if writer == "openpyxl_write_only":  # it refuses aware datetimes: give it local ones, made beforehand
        pool = [[_local(v) for v in values] for values in pool]
    stream = ((0, pool[n % len(pool)]) for n in range(rows))
    size = 0
    began = time.perf_counter()
    if writer == "xlsx":
        size = sum(len(chunk) for chunk in xlsx.write([sheet], stream, TZ))
    elif writer == "csv":
        size = sum(len(chunk) for chunk in csvs.write([sheet], stream, TZ))
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        ws = book.create_sheet(sheet.name)
        ws.append(sheet.headers)
        for _, values in stream:
            ws.append(values)
        out = io.BytesIO()
        book.save(out)
        size = out.tell()
    seconds = time.perf_counter() - began
    return {
        "cells_per_s": round(rows * columns / seconds),
        "seconds": round(seconds, 3),
        "bytes": size,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--columns", type=int, default=100)
    parser.add_argument("--only", choices=WRITERS, help="run one writer in this process (used internally)")
    args = parser.parse_args()
    if args.only:
        print(json.dumps(run(args.only, args.rows, args.columns)))
        return
    results: dict[str, Any] = {"rows": args.rows, "columns": args.columns, "cells": args.rows * args.columns}
    for writer in WRITERS:
        command = [
            sys.executable,
            __file__,
            "--only",
            writer,
            "--rows",
            str(args.rows),
            "--columns",
            str(args.columns),
        ]
        results[writer] = json.loads(
            subprocess.run(command, check=True, capture_output=True, text=True).stdout
        )
    results["xlsx_vs_openpyxl"] = round(
        results["xlsx"]["cells_per_s"] / results["openpyxl_write_only"]["cells_per_s"], 2
    )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
