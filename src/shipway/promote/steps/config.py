"""The step config models and their validation (``shipway.model.kargo_step_configs``).

Re-exported here for the step runners. Pure: no I/O.
"""

from __future__ import annotations

from shipway.model.kargo_step_configs import (
    CONFIGS,
    config_problems,
    parse_step_config,
    step_problems,
    validate_step_config,
)

__all__ = [
    "CONFIGS",
    "config_problems",
    "parse_step_config",
    "step_problems",
    "validate_step_config",
]
