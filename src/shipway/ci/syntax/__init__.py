"""Workflow syntaxes (GitHub Actions, GitLab CI, Tekton) parsed into one plan model.

Pure: no I/O.
"""
