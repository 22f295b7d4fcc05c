"""The cost of validating a Kargo project at apply: parsing N Stages (each with a three-step
promotion template full of ``${{ }}`` expressions) plus their Warehouse and PromotionTask, and
the cross-object checks (``shipway.promote.checks``: references, expressions, the stage-source
cycle search), for a chain of N stages (each takes Freight from the previous one) and for a
chain closed into one cycle. Figures are the median of ``--repeat`` runs, in milliseconds.

    .venv/bin/python bench/kargo_apply.py [--repeat 5] [--stages 10 100 500]
"""

from __future__ import annotations

import argparse
import statistics
import time

from shipway.model.resources import parse_text
from shipway.promote.checks import check

HEAD = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: shop, namespace: bench}
spec:
  subscriptions:
  - image: {repoURL: registry.local/shop}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: deploy, namespace: bench}
spec:
  vars: [{name: app}]
  steps:
  - uses: argocd-update
    config:
      apps: [{name: "${{ vars.app }}"}]
"""

STAGE = """\
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: s{i}, namespace: bench}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: shop}}
    sources: {sources}
  promotionTemplate:
    spec:
      steps:
      - uses: git-clone
        config:
          repoURL: https://git.local/config.git
          checkout: [{{branch: main, path: ./src}}]
      - uses: yaml-update
        as: update
        config:
          path: ./src/s{i}/values.yaml
          updates:
          - key: image.tag
            value: ${{{{ quote(imageFrom("registry.local/shop").Tag) }}}}
      - task: {{name: deploy}}
        vars: [{{name: app, value: "shop-${{{{ ctx.stage }}}}"}}]
"""


def project(n: int, cyclic: bool) -> str:
    docs = [HEAD]
    for i in range(n):
        if i == 0:
            sources = f"{{stages: [s{n - 1}]}}" if cyclic else "{direct: true}"
        else:
            sources = f"{{stages: [s{i - 1}]}}"
        docs.append(STAGE.format(i=i, sources=sources))
    return "".join(docs)


def _median_ms(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stages", type=int, nargs="+", default=[10, 100, 500])
    args = parser.parse_args()
    print(f"{'stages':>7} {'shape':>6} {'parse ms':>10} {'checks ms':>10} {'problems':>9}")
    for n in args.stages:
        for cyclic in (False, True):
            text = project(n, cyclic)
            batch = parse_text(text, "bench.yaml")
            parse_ms = _median_ms(lambda text=text: parse_text(text, "bench.yaml"), args.repeat)
            check_ms = _median_ms(lambda batch=batch: check(batch, []), args.repeat)
            problems = len(check(batch, []))
            shape = "cycle" if cyclic else "chain"
            print(f"{n:>7} {shape:>6} {parse_ms:>10.1f} {check_ms:>10.1f} {problems:>9}")


if __name__ == "__main__":
    main()
