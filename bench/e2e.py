"""Commit-to-healthy for the demo chain, warm build cache, with a per-stage breakdown.

Runs ``shipway demo`` in a fresh state directory (first commit warms the base
image and caches), then ships N more commits and prints, for each, the
commit-to-healthy time and each stage's duration. Target (issue 2): the
second commit under 10 s on a 2-core machine. Anchor: Argo CD Image Updater
polls every 2 minutes by default, so its commit-to-deploy is minutes.

    .venv/bin/python bench/e2e.py [--commits 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def shipway(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHIPWAY_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "shipway.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=3, help="commits after the warm-up one")
    ap.add_argument("--keep", action="store_true", help="keep the state directory")
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="shipway-bench-")) / "home"
    try:
        proc = shipway(home, "demo", "--changes", str(args.commits + 1), "-o", "json")
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"demo failed (exit {proc.returncode})")
        rows = json.loads(proc.stdout)["releases"]
        print(
            f"{'commit':<14}{'commit→healthy':>16}"
            + "".join(f"{s['name']:>9}" for s in rows[0]["release"]["stages"])
        )
        totals = []
        for i, row in enumerate(rows):
            rel = row["release"]
            label = "warm-up" if i == 0 else f"#{i + 1}"
            total = row["commit_to_healthy_seconds"]
            if i > 0:
                totals.append(total)
            cells = "".join(f"{(s['seconds'] or 0):>8.2f}s" for s in rel["stages"])
            print(f"{label + ' ' + rel['commit'][:6]:<14}{total:>15.2f}s{cells}")
        print(
            f"\nwarm commits: median {statistics.median(totals):.2f}s, "
            f"max {max(totals):.2f}s (target < 10 s)"
        )
        print("anchor: Argo CD Image Updater default poll interval 120 s (not runnable here)")
    finally:
        if not args.keep:
            shipway(home, "demo", "--clean")


if __name__ == "__main__":
    main()
