"""Matrix evaluation and expansion with GitHub's documented include/exclude rules. Pure.

0. Expressions are evaluated; a list item ``${{ fromJSON(...) }}`` giving an
   array is spliced into its list (``rendered_matrix``).

1. The cartesian product of the non-include/exclude keys, in key order.
2. ``exclude`` entries remove every combination they match (partial match).
3. Each ``include`` entry is merged into every combination whose *original*
   values it does not overwrite; added values may be overwritten. An entry
   that fits no original combination becomes a new combination (entries are
   never merged into combinations that earlier entries created).
"""

from __future__ import annotations

import itertools
from typing import Any

from shipway.ci.expr.evaluate import Scope
from shipway.ci.expr.template import is_insert, render, render_deep, split
from shipway.ci.expr.values import to_str

MAX_COMBINATIONS = 256


class MatrixError(ValueError):
    pass


def rendered_matrix(spec: Any, scope: Scope) -> dict[str, Any]:
    """A ``strategy.matrix`` with its expressions evaluated: a list item that is one expression
    giving an array has that array's items spliced in, as GitHub does."""
    value = spec
    if isinstance(value, dict):
        value = {k if is_insert(k) else to_str(render(k, scope)): _spliced(v, scope)
                 for k, v in value.items()}  # fmt: skip
    value = render_deep(value, scope)
    if isinstance(value, str):
        value = render(value, scope)
    if not isinstance(value, dict):
        raise MatrixError("the matrix expression must evaluate to a mapping")
    return value


def _spliced(value: Any, scope: Scope) -> Any:
    if not isinstance(value, list):
        return render_deep(value, scope)
    items: list[Any] = []
    for item in value:
        whole = isinstance(item, str) and item.strip().startswith("${{") and len(split(item)) == 1
        rendered = render_deep(item, scope)
        if whole and isinstance(rendered, list):
            items.extend(rendered)
        else:
            items.append(rendered)
    return items


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def expand(matrix: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Return the combinations of a matrix (``[{}]`` when there is no matrix)."""
    if not matrix:
        return [{}]
    include = matrix.get("include") or []
    exclude = matrix.get("exclude") or []
    if not isinstance(include, list) or not isinstance(exclude, list):
        raise MatrixError("matrix include and exclude must be sequences")
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    for key, values in axes.items():
        if not isinstance(values, list):
            raise MatrixError(f"matrix axis {key!r} must be a sequence")
        if not values:
            raise MatrixError(f"matrix axis {key!r} is empty")
    combos: list[dict[str, Any]] = []
    if axes:
        keys = list(axes)
        for values in itertools.product(*(axes[k] for k in keys)):
            combos.append(dict(zip(keys, values, strict=True)))
    for ex in exclude:
        if not isinstance(ex, dict):
            raise MatrixError("each matrix exclude entry must be a mapping")
        combos = [c for c in combos if not _matches(c, ex)]
    originals = [dict(c) for c in combos]
    base = list(combos)
    for inc in include:
        if not isinstance(inc, dict):
            raise MatrixError("each matrix include entry must be a mapping")
        merged = False
        for orig, combo in zip(originals, base, strict=True):
            if all(k not in orig or _eq(orig[k], v) for k, v in inc.items()):
                combo.update(inc)
                merged = True
        if not merged:
            combos.append(dict(inc))
    if len(combos) > MAX_COMBINATIONS:
        raise MatrixError(f"matrix has {len(combos)} combinations; the limit is {MAX_COMBINATIONS}")
    if not combos:
        raise MatrixError("matrix has no combinations after exclude")
    return combos


def _matches(combo: dict[str, Any], pattern: dict[str, Any]) -> bool:
    for k, v in pattern.items():
        if k not in combo:
            return False
        cv = combo[k]
        if isinstance(v, dict) and isinstance(cv, dict):
            if not _matches(cv, v):
                return False
        elif not _eq(cv, v):
            return False
    return True
