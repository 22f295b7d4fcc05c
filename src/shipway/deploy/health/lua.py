"""Argo CD Lua health scripts, run as users wrote them, in a bounded Lua 5.1 sandbox. Pure.

``evaluate(script, obj)`` runs ``script`` with the live object as the global
``obj`` and reads the table it returns, ``{status = ..., message = ...}``, as
Argo CD's gopher-lua VM does: nothing or an empty table gives no health
(``None``); a status outside Argo CD's six names is Unknown ("Lua returned an
invalid health status"); anything else returned is an error.

The sandbox (a fresh ``lupa.lua51`` runtime per call) offers what Argo CD
offers a script: the base functions, ``table`` and a safe ``os`` (``time``,
``date``, ``clock``), with ``require`` able to load only those; ``open_libs``
(argocd-cm ``useOpenLibs``) adds ``string``, ``math`` and ``coroutine``. It
never offers ``io``, the rest of ``os``, ``debug``, ``package``, ``load``,
``loadstring``, ``dofile``, ``loadfile``, ``getfenv``/``setfenv``, nor
precompiled chunks, even with ``open_libs``.

Limits: an instruction-count hook stops a script after ``Limits.seconds`` of
wall time or ``Limits.instructions`` VM instructions, and the runtime's
allocator refuses memory past ``Limits.memory`` bytes; ``pcall`` cannot
swallow a stop. A C function that never returns to the VM (a pathological
``string.find`` pattern) is abandoned after twice the time limit: the caller
gets Unknown and the runtime is left to finish on its own daemon thread.
Every failure is ``(Unknown, "<name>:<line>: <reason>")``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from shipway.deploy.health.util import ORDER, UNKNOWN, Obj, Result

INVALID_STATUS = "Lua returned an invalid health status"
_HOOK_EVERY = 1000  # VM instructions between two checks of the limits
_CHUNK = "shipway-health-script"


@dataclass(frozen=True)
class Limits:
    seconds: float = 1.0  # Argo CD gives a script one second
    instructions: int = 100_000_000
    memory: int = 64 * 1024 * 1024


LIMITS = Limits()

# Builds the sandbox inside a fresh runtime and returns the function that runs one script.
# Everything a script can reach is in ``env``; the real globals stay out of its reach.
_SANDBOX = r"""
local loadstring, setfenv, pcall, xpcall = loadstring, setfenv, pcall, xpcall
local error, type, unpack, tostring = error, type, unpack, tostring
local sethook, getinfo = debug.sethook, debug.getinfo
local format, sub = string.format, string.sub
local co_resume, co_create = coroutine.resume, coroutine.create

return function(script, chunkname, obj, open_libs, now, deadline, max_hooks, every, mib)
  local stopped, hooks, line = nil, 0, 0

  local function hook()
    hooks = hooks + 1
    local info = getinfo(2, "l")
    if info and info.currentline and info.currentline > 0 then line = info.currentline end
    if stopped == nil then
      if hooks > max_hooks then
        stopped = format("%s:%d: script stopped: instruction limit reached", chunkname, line)
      elseif hooks % 16 == 0 and now() > deadline then
        stopped = format("%s:%d: script stopped: time limit reached", chunkname, line)
      end
    end
    if stopped ~= nil then error(stopped, 0) end
  end

  -- pcall/xpcall/coroutines must not swallow a stop
  local function rethrow(ok, ...)
    if not ok and stopped ~= nil then error(stopped, 0) end
    return ok, ...
  end

  local env = {}
  for _, name in ipairs({"assert", "error", "ipairs", "next", "pairs", "select", "tonumber",
                         "tostring", "type", "unpack", "rawequal", "rawget", "rawset",
                         "setmetatable", "getmetatable", "_VERSION"}) do
    env[name] = _G[name]
  end
  env.print = function() end
  env.pcall = function(f, ...) return rethrow(pcall(f, ...)) end
  env.xpcall = function(f, h) return rethrow(xpcall(f, h)) end
  env.table = {}
  for k, v in pairs(table) do env.table[k] = v end
  env.os = {time = os.time, date = os.date, clock = os.clock}
  local strings = {}
  if open_libs then
    for k, v in pairs(string) do strings[k] = v end
    strings.dump = nil
    env.string = strings
    env.math = {}
    for k, v in pairs(math) do env.math[k] = v end
    env.coroutine = {}
    for k, v in pairs(coroutine) do env.coroutine[k] = v end
    -- a hook is per coroutine: every coroutine gets the same one
    local function create(f)
      local c = co_create(f)
      sethook(c, hook, "", every)
      return c
    end
    env.coroutine.create = create
    env.coroutine.resume = function(c, ...) return rethrow(co_resume(c, ...)) end
    env.coroutine.wrap = function(f)
      local c = create(f)
      return function(...)
        local res = {rethrow(co_resume(c, ...))}
        if not res[1] then error(res[2], 0) end
        return unpack(res, 2, table.maxn(res))
      end
    end
  end
  getmetatable("").__index = strings
  local modules = {os = env.os, table = env.table, string = env.string, math = env.math,
                   coroutine = env.coroutine}
  env.require = function(name)
    local found = modules[name]
    if found == nil then error(format("module '%s' not found", tostring(name)), 2) end
    return found
  end
  env._G = env
  env.obj = obj

  if type(script) ~= "string" or sub(script, 1, 1) == "\27" then
    return false, chunkname .. ": precompiled chunks are not accepted"
  end
  local fn, err = loadstring(script, "=" .. chunkname)
  if fn == nil then return false, err end
  setfenv(fn, env)
  sethook(hook, "", every)
  local res = {pcall(fn)}
  sethook()
  if not res[1] then
    local msg = stopped or res[2]
    if type(msg) ~= "string" then msg = chunkname .. ": error object is a " .. type(msg) end
    if msg == "not enough memory" then
      local at = chunkname
      if line > 0 then at = format("%s:%d", chunkname, line) end
      msg = format("%s: not enough memory (the limit is %d MiB)", at, mib)
    end
    return false, msg
  end
  return true, res[2]
end
"""


def _to_python(value: Any) -> Any:
    """A Lua table (from lupa) as a dict; other values as they are."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    return {k: _to_python(v) for k, v in value.items()}


def _result(returned: Any) -> Result:
    if returned is None:
        return None
    if not isinstance(returned, dict):
        kind = "number" if isinstance(returned, int | float) else type(returned).__name__
        kind = {"str": "string", "bool": "boolean", "bytes": "string"}.get(kind, kind)
        return UNKNOWN, f"expect table output from Lua script, not {kind}"
    if not returned:
        return None
    status, message = returned.get("status", ""), returned.get("message", "")
    if not isinstance(status, str) or not isinstance(message, str):
        return UNKNOWN, "the returned table's status and message must be strings"
    if status not in ORDER:
        return UNKNOWN, INVALID_STATUS
    return status, message


def _run(script: str, obj: Obj, name: str, open_libs: bool, limits: Limits) -> Result:
    from lupa import lua51  # type: ignore[import-untyped]  # imported here: cheap start-up

    try:
        rt = lua51.LuaRuntime(
            max_memory=limits.memory, register_eval=False, register_builtins=False
        )
        runner = rt.execute(_SANDBOX)
        deadline = time.monotonic() + limits.seconds
        ok, value = runner(
            script,
            _CHUNK,
            rt.table_from(obj, recursive=True),
            open_libs,
            time.monotonic,
            deadline,
            max(1, limits.instructions // _HOOK_EVERY),
            _HOOK_EVERY,
            limits.memory >> 20,
        )
    except lua51.LuaMemoryError:
        return UNKNOWN, f"{name}: not enough memory (the limit is {limits.memory >> 20} MiB)"
    except lua51.LuaError as exc:
        return UNKNOWN, f"{name}: {exc}"
    if not ok:  # Lua cuts chunk names at 60 bytes: it saw a short one, the user sees ``name``
        return UNKNOWN, str(value).replace(_CHUNK, name)
    return _result(_to_python(value))


def evaluate(
    script: str,
    obj: Obj,
    *,
    name: str = "health.lua",
    open_libs: bool = False,
    limits: Limits = LIMITS,
) -> Result:
    """The health a Lua script gives ``obj``; never raises, never outlives the limits."""
    box: list[Result] = []

    def work() -> None:
        try:
            box.append(_run(script, obj, name, open_libs, limits))
        except Exception as exc:  # a broken binding must not take the caller down
            box.append((UNKNOWN, f"{name}: {type(exc).__name__}: {exc}"))

    worker = threading.Thread(target=work, name=f"lua-health {name}", daemon=True)
    worker.start()
    worker.join(2 * limits.seconds + 1)
    if not box:
        return UNKNOWN, f"{name}: script stopped: it did not return within {limits.seconds:g}s"
    return box[0]
