"""GitLab CI (``.gitlab-ci.yml``): the pure core that reads, checks and expands a pipeline.

``pipeline.parse_pipeline`` gives every job as GitLab expands it (include: local,
extends, ``!reference``, default, parallel/matrix) with every problem found at
once as ``file:line:col``; ``plan.plan_pipeline`` evaluates rules, only/except and
variables for one commit. Nothing here does I/O: files come through a reader
callback; the runner (``shipway.ci.gitlab_run``) runs the plan.
"""
