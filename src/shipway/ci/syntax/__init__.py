"""Workflow syntaxes (GitHub Actions, GitLab CI, Tekton), each parsed into the plan model. Pure: no I/O."""
