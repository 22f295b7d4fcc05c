"""Run Tekton TaskRuns and PipelineRuns on this machine (host or podman).

An engine over the pure core ``shipway.ci.tekton``: ``steps`` runs one step
(a host process, or a container of the step's image sharing the TaskRun's
volumes), ``taskrun`` one TaskRun's steps, ``pipelinerun`` a PipelineRun's
tasks in Tekton's order, ``service`` the whole run from files into a CI run
record in the store.
"""
