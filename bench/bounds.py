"""The cost of refusing hostile input: time and peak memory to refuse a billion-laughs
document (and a self-referencing alias, and a too-deep document) through every reader.

Each case runs in a fresh subprocess so its peak RSS (``ru_maxrss``) is its own; the
figures are the median of ``--repeat`` runs. Targets: under 1 s and under 100 MiB.

    .venv/bin/python bench/bounds.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CASES = {
    "billion laughs (9 levels, 342 bytes)": "lol",
    "self-referencing alias": "cycle",
    "10,000 levels deep": "deep",
}
TARGET_S, TARGET_MIB = 1.0, 100  # issue 11: under 1 s and under 100 MiB
READERS = [
    "resources",
    "workflow",
    "manifests (C loader)",
    "updater (kustomization)",
    "ApplicationSet git file",
    "JSON body (deep)",
]

CHILD = r"""
import json, resource, sys, time
kind, reader = sys.argv[1], sys.argv[2]
if kind == "lol":
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    text = "\n".join(lines) + "\n"
elif kind == "cycle":
    text = "a: &x [1, *x]\n"
else:
    text = "x: " + "[" * 10_000 + "]" * 10_000 + "\n"
from shipway.model.errors import InputError
from shipway.model.resources import parse_text
from shipway.ci.syntax.github import parse_workflow
from shipway.deploy import render
from shipway.model import bounded
from shipway.updater.edit import yamltext
from shipway.deploy.appset import generators, render as appset_render
from shipway.deploy.appset.inputs import Tree


class RepoFile:  # a repository holding one config file: what a git files generator reads
    def tree(self, url, revision):
        return Tree("c0ffee", ["clusters"], ["clusters/config.yaml"])

    def read(self, url, commit, path):
        return text.encode()


def appset_file(t, f):
    ctx = generators.Context(RepoFile(), appset_render.Options.of({}), "argocd")
    git = {"repoURL": "https://git.example/apps.git", "files": [{"path": "clusters/*.yaml"}]}
    return generators.generate({"git": git}, ctx, "spec.generators[0]")


fn = {"resources": parse_text, "workflow": parse_workflow,
      "manifests (C loader)": render.parse, "updater (kustomization)": yamltext.parse,
      "ApplicationSet git file": appset_file,
      "JSON body (deep)": lambda t, f: bounded.load_json("[" * 10_000 + "]" * 10_000, f)}[reader]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
cpu0 = time.process_time()
try:
    fn(text, "doc.yaml")
    refused = ""
except InputError as exc:
    refused = str(exc)
took = time.perf_counter() - start
cpu = time.process_time() - cpu0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": took, "cpu": cpu, "peak_kib": peak, "growth_kib": peak - base,
                  "refused": refused}))
"""


def run(kind: str, reader: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, reader], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    result: dict[str, object] = json.loads(out)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(
        f"targets (issue 11): refused in under {TARGET_S * 1000:.0f} ms and under "
        f"{TARGET_MIB} MiB; CPU time beside wall time (the machine is shared)"
    )
    print(f"{'case':40} {'reader':22} {'refused in':>11} {'cpu':>9} {'peak RSS':>10} "
          f"{'growth':>9}  target")  # fmt: skip
    for label, kind in CASES.items():
        for reader in READERS:
            if reader.startswith("JSON") and kind != "deep":
                continue
            runs = [run(kind, reader) for _ in range(args.repeat)]
            if not all(r["refused"] for r in runs):
                print(f"{label:40} {reader:22} NOT REFUSED")
                continue
            ms = statistics.median(float(r["s"]) for r in runs) * 1000  # type: ignore[arg-type]
            peak = statistics.median(int(r["peak_kib"]) for r in runs) / 1024  # type: ignore[call-overload]
            growth = statistics.median(int(r["growth_kib"]) for r in runs) / 1024  # type: ignore[call-overload]
            cpu = statistics.median(float(r["cpu"]) for r in runs) * 1000  # type: ignore[arg-type]
            met = ms < TARGET_S * 1000 and peak < TARGET_MIB
            print(f"{label:40} {reader:22} {ms:9.2f}ms {cpu:7.2f}ms {peak:7.1f}MiB "
                  f"{growth:6.2f}MiB  {'met' if met else 'MISSED'}")  # fmt: skip
    print("peak RSS is the whole process (Python and shipway's imports included);")
    print("growth is what the refusal itself added to it.")


if __name__ == "__main__":
    main()
