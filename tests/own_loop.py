"""Run a coroutine to its end on an event loop of its own, on a thread of its own.

After the session's browser tests (Playwright's sync API), an xdist worker's main thread is
inside a running event loop, where ``asyncio.run`` refuses; tests that drive async code
call ``run_on_own_loop`` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_on_own_loop(main: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main).result(timeout=timeout)
