"""CI: workflow syntaxes parsed into one plan model, an engine that runs plans, native actions.

Pure cores (no I/O, enforced by import-linter):

- ``syntax.github`` / ``syntax.action``: workflow and ``action.yml`` validation
  with ``file:line:column`` errors, into ``plan.model``.
- ``expr``: the expression language (lexer, parser, evaluator, ``${{ }}`` templates),
  checked against npm ``@actions/expressions`` by a differential test.
- ``plan``: the model, the ``needs`` DAG, matrix expansion, ``on:`` trigger filters.
- ``neutral``: the format-neutral plan GitHub Actions, Tekton and GitLab compile into,
  and the one scheduler (with each syntax's skip rules) the three engines ask what to
  run next; its state is data (a GitLab run stores it after every job and resumes from it).

Engine and adapters:

- ``engine`` (jobs, matrix, concurrency), ``job`` (steps, runner files, workflow
  commands, the job's own HOME/temp/toolchain directories), ``reusable``
  (``workflow_call``), ``uses`` (local/vendored actions), ``container`` and
  ``executors`` (podman), ``runner_image`` (the podman executor's busybox image,
  built here), ``actions.*`` (native marketplace actions; ``actions.pythons``:
  host interpreters and a job's own virtualenv).
- ``service``: ``run_event`` for the controller, ``run_workflow``, ``resume_run``.
"""
