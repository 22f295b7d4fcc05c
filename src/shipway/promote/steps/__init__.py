"""Kargo's promotion steps, one module per step family.

- ``config``: one strict config model per step and ``validate_step_config`` (pure);
- ``base``: what a step gets (``StepEnv``) and gives back (``StepResult``), the registry;
- ``gitsteps``: git-clone, git-clear, git-commit, git-push (the git command line);
- ``prsteps``: git-open-pr, git-wait-for-pr, git-merge-pr (shipway's forge clients);
- ``filesteps``: copy, delete, yaml-update, json-update, kustomize-set-image, kustomize-build;
- ``helmsteps``: helm-update-image, helm-update-chart, helm-template (``helm`` for the last);
- ``httpstep``: http; ``outputsteps``: compose-output, set-metadata, fail;
- ``argocd``: argocd-update (through shipway's reconciler).

A step reads and writes only inside the promotion's work directory, except
git-push and git-merge-pr (the only remote writes) and argocd-update.
"""
