"""Secret masking: every form of a secret GitHub's runner hides, and only where it hides them.

``Masker.add(value)`` registers a secret; ``mask(text)`` replaces, longest
first, each of its forms by ``***``:

- the value itself, and each line of a multi-line value (stripped);
- its base64 at the three byte alignments (a secret inside a longer encoded
  string such as ``user:secret``): only the characters that depend on the
  secret's bytes alone, and only when that fragment is at least
  ``MIN_ENCODED`` characters long;
- URL-encoded (RFC 3986 unreserved characters kept, as .NET's
  ``Uri.EscapeDataString``);
- JSON-escaped (what ``toJSON(secrets)`` prints), with and without
  ``\\uXXXX`` for non-ASCII.

``mask_record`` masks a run record or run state: the text a user or a step
produced (log lines, outputs, names, summaries, annotations) is masked; the
fields shipway computes itself (ids, commit shas, refs, results, timings)
never are, so a short secret such as ``ab`` cannot corrupt a stored sha.
Pure text processing.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

MASK = "***"
MIN_ENCODED = 4

#: The keys of a run record whose values are user text (masked); every other
#: scalar is computed by shipway and left as it is.
USER_TEXT = frozenset({"name", "outputs", "summary", "annotations", "message", "environment"})


def base64_forms(value: str) -> Iterator[str]:
    """The base64 characters that encode ``value`` at byte offsets 0, 1 and 2 of a stream."""
    data = value.encode()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data + b"\0\0").decode()
        first = -(-8 * offset // 6)  # the first character made of the secret's bits only
        end = 8 * (offset + len(data)) // 6  # one past the last such character
        if end - first >= MIN_ENCODED:
            yield encoded[first:end]


def forms(value: str) -> set[str]:
    """Every form of one secret value that is masked (empty strings dropped)."""
    bases = {value}
    if "\n" in value or "\r" in value:
        bases |= {line.strip() for line in value.splitlines()}
    out: set[str] = set()
    for b in bases - {""}:
        out.add(b)
        out.update(base64_forms(b))
        out.add(quote(b, safe="-_.~"))
        out.add(json.dumps(b, ensure_ascii=False)[1:-1])
        out.add(json.dumps(b)[1:-1])
    out.discard("")
    return out


class Masker:
    """Replaces every registered secret, in each of its ``forms``, by ``***``."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._regex: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        new = forms(value) - self._values
        if new:
            self._values |= new
            self._regex = None

    def mask(self, text: str) -> str:
        if not self._values:
            return text
        if self._regex is None:
            ordered = sorted(self._values, key=len, reverse=True)
            self._regex = re.compile("|".join(re.escape(v) for v in ordered))
        return self._regex.sub(MASK, text)

    def mask_deep(self, value: Any) -> Any:
        """``value`` with every string in it masked (keys included)."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, list):
            return [self.mask_deep(v) for v in value]
        if isinstance(value, dict):
            return {self.mask_deep(k): self.mask_deep(v) for k, v in value.items()}
        return value

    def mask_record(self, value: Any) -> Any:
        """A run record (or run state) with only its ``USER_TEXT`` fields masked."""
        if isinstance(value, list):
            return [self.mask_record(v) for v in value]
        if isinstance(value, dict):
            return {k: self.mask_deep(v) if k in USER_TEXT else self.mask_record(v)
                    for k, v in value.items()}  # fmt: skip
        return value
