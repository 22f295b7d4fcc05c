"""Tag selection policies: semver, newest build, digest, alphabetical, numerical. Pure: no I/O.

``select.select(policy, tags, created)`` picks a tag; ``semver`` parses versions and ranges.
"""

from shipway.updater.policy.select import (
    Choice,
    Policy,
    filter_tags,
    needs_created,
    select,
    strategy_name,
)

__all__ = ["Choice", "Policy", "filter_tags", "needs_created", "select", "strategy_name"]
