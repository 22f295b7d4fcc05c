"""Sync planning: which objects to apply, prune and run as hooks, in which order. Pure.

Order is data, as in Argo CD: ``markers`` reads what an object says
about its sync (wave, hook types, delete policies, sync options; Helm's hook
annotations mapped as Argo CD maps them); ``tasks`` turns a comparison and
the app's hooks into ordered tasks, grouped in steps of one phase and wave
(``PreSync`` → ``Sync`` → ``PostSync``; ``SyncFail`` only when the sync
fails). Hooks and resources of one wave are one step. The engine
(``shipway.deploy.engine``) runs the steps.
"""

from __future__ import annotations

from shipway.deploy.sync.markers import (
    HOOK_ANNOTATION,
    SYNC_OPTIONS_ANNOTATION,
    WAVE_ANNOTATION,
    annotations_of,
    delete_policies,
    hook_of,
    hook_phases,
    hook_types,
    is_hook,
    sync_options,
    wave_of,
)
from shipway.deploy.sync.tasks import KIND_ORDER, Plan, Step, Task, hook_name, plan, sort_key

__all__ = [
    "HOOK_ANNOTATION",
    "KIND_ORDER",
    "SYNC_OPTIONS_ANNOTATION",
    "WAVE_ANNOTATION",
    "Plan",
    "Step",
    "Task",
    "annotations_of",
    "delete_policies",
    "hook_name",
    "hook_of",
    "hook_phases",
    "hook_types",
    "is_hook",
    "plan",
    "sort_key",
    "sync_options",
    "wave_of",
]
