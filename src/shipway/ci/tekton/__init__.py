"""Tekton (``tekton.dev/v1`` and ``v1beta1``): Task, TaskRun, Pipeline, PipelineRun, StepAction.

Pure: reads resources (``load``), checks them field by field as Tekton's API
server does (``schema``), substitutes ``$(...)`` variables (``subst``),
decides a Pipeline's order, skips and finally tasks (``dag``), and shapes
statuses as Tekton reports them (``status``). Running the steps is
``shipway.ci.tekton_run``'s job.
"""
