"""The interface a syntax's substitution and condition rules implement.

Pure. An ``Evaluator`` renders the syntax's placeholders in a text
(``${{ expr }}``, Tekton's ``$(params.x)``, GitLab's ``$VAR``) from the values
it is given, and says whether a node's or step's ``Condition`` holds. The
implementations are ``neutral.github.GitHubEvaluator``,
``neutral.tekton.TektonEvaluator`` and ``neutral.gitlab.GitLabEvaluator``;
``for_syntax`` picks one by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from shipway.ci.neutral.model import Condition


class Evaluator(Protocol):
    name: str

    def render(self, text: str, values: Mapping[str, Any]) -> Any:
        """``text`` with the syntax's placeholders replaced from ``values``."""
        ...

    def holds(self, cond: Condition, values: Mapping[str, Any]) -> bool:
        """Whether ``cond`` (written in this syntax) is true with ``values``."""
        ...


def for_syntax(name: str) -> Evaluator:
    """The evaluator of ``name`` (github, tekton, gitlab)."""
    if name == "github":
        from shipway.ci.neutral.github import GitHubEvaluator

        return GitHubEvaluator()
    if name == "tekton":
        from shipway.ci.neutral.tekton import TektonEvaluator

        return TektonEvaluator()
    if name == "gitlab":
        from shipway.ci.neutral.gitlab import GitLabEvaluator

        return GitLabEvaluator()
    raise ValueError(f"no evaluator for syntax {name!r}")
