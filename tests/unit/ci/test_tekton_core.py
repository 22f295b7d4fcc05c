"""Tekton's pure core: reading and checking resources, substitution, scheduling, statuses.

The resources are shaped after the examples in Tekton's documentation (tasks.md,
pipelines.md, variables.md, matrix.md), written anew for these tests.
"""

from __future__ import annotations

import textwrap

import pytest

from shipway.ci.tekton import dag, load, subst
from shipway.ci.tekton.params import resolve
from shipway.ci.tekton.schema import format_duration, parse_duration
from shipway.ci.tekton.status import pipelinerun_status, taskrun_status
from shipway.ci.tekton.task import check_results, plan_steps, script_text, task_vars
from shipway.model.errors import InputError


def _load(text: str, file: str = "run.yaml") -> load.Bundle:
    return load.load([(textwrap.dedent(text), file)])


TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: echo
spec:
  params:
    - name: greeting
      default: hello
    - name: flags
      type: array
      default: ["-n"]
    - name: img
      type: object
      properties:
        repo: {type: string}
        tag: {type: string}
      default: {repo: busybox, tag: latest}
  results:
    - name: said
  workspaces:
    - name: src
    - name: cache
      optional: true
  stepTemplate:
    env:
      - name: LEVEL
        value: template
      - name: KEEP
        value: kept
  steps:
    - name: say
      image: $(params.img.repo):$(params["img"].tag)
      command: [echo]
      args: ["$(params.flags[*])", "$(params['greeting'])", "$(params.flags[0])"]
      env:
        - name: LEVEL
          value: step
    - name: write
      image: busybox
      script: |
        echo -n "$(params.greeting)" > $(results.said.path)
        ls $(workspaces.src.path) $(workspaces.cache.bound) "$(date)"
"""


def test_a_task_loads_and_its_steps_are_substituted() -> None:
    bundle = _load(TASK)
    spec = bundle.find("Task", "echo").spec  # type: ignore[union-attr]
    params, problems = resolve(spec["params"], {"greeting": "hi"}, "Task echo")
    assert problems == []
    values = task_vars(spec, params, {"src": "ws-src"}, {"taskRun.name": "tr"})
    say, write = plan_steps(spec, values, {})
    assert say.image == "busybox:latest"
    assert say.args == ["-n", "hi", "-n"]
    assert say.env == {"LEVEL": "step", "KEEP": "kept"}
    assert write.script is not None
    assert write.script.startswith("#!/bin/sh\nset -e\n")
    assert "> /tekton/results/said" in write.script
    assert "ls /workspace/src false" in write.script
    assert '"$(date)"' in write.script  # not a variable: left as written


def test_shebang_rule() -> None:
    assert script_text("#!/usr/bin/env python3\nprint(1)\n").startswith("#!/usr/bin/env python3")
    assert script_text("echo hi\n") == "#!/bin/sh\nset -e\necho hi\n"


def test_unknown_fields_and_types_are_all_reported_with_positions() -> None:
    text = """\
    apiVersion: tekton.dev/v1
    kind: Task
    metadata:
      name: bad
    spec:
      steps:
        - name: one
          image: busybox
          scirpt: echo
        - name: one
          image: busybox
          timeout: soon
          onError: ignore
      params:
        - name: p
          type: list
    """
    with pytest.raises(InputError) as exc:
        _load(text, "t.yaml")
    message = str(exc.value)
    assert message.startswith('t.yaml:9:7: unknown field "spec.steps[0].scirpt"')
    assert "t.yaml:10:7: step name 'one' is not unique" in message
    assert "t.yaml:12:7: invalid value: soon: spec.steps[1].timeout" in message
    assert "t.yaml:13:7: invalid value: 'ignore': spec.steps[1].onError" in message
    assert "t.yaml:16:7: invalid value: 'list': spec.params[0].type" in message


def test_v1beta1_keeps_container_fields_v1_refuses_them() -> None:
    beta = TASK.replace("tekton.dev/v1", "tekton.dev/v1beta1").replace(
        "    - name: write\n", "    - name: write\n      resources: {}\n"
    )
    _load(beta)
    with pytest.raises(InputError, match=r'unknown field "spec.steps\[1\].resources"'):
        _load(TASK.replace("    - name: write\n", "    - name: write\n      resources: {}\n"))


def test_not_served_versions_and_kinds() -> None:
    with pytest.raises(InputError, match=r"no kind 'ClusterTask' in version 'tekton\.dev/v1'"):
        _load("apiVersion: tekton.dev/v1\nkind: ClusterTask\nmetadata: {name: x}\nspec: {}\n")


def test_undeclared_params_results_workspaces() -> None:
    text = TASK.replace("$(params.greeting)", "$(params.greting)").replace(
        "$(results.said.path)", "$(results.sad.path)"
    )
    with pytest.raises(InputError) as exc:
        _load(text)
    assert "$(params.greting)" in str(exc.value)
    assert "$(results.sad.path)" in str(exc.value)


PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: p
spec:
  params:
    - name: env
      default: dev
  workspaces:
    - name: shared
  tasks:
    - name: fetch
      taskRef: {name: echo}
      workspaces:
        - name: src
          workspace: shared
    - name: build
      taskRef: {name: echo}
      params:
        - name: greeting
          value: $(tasks.fetch.results.said)
    - name: deploy-prod
      runAfter: [build]
      when:
        - input: $(params.env)
          operator: in
          values: [prod]
      taskRef: {name: echo}
    - name: notify
      runAfter: [deploy-prod]
      taskRef: {name: echo}
    - name: report
      params:
        - name: greeting
          value: $(tasks.deploy-prod.results.said)
      taskRef: {name: echo}
  finally:
    - name: cleanup
      params:
        - name: greeting
          value: $(tasks.status)/$(tasks.build.status)/$(tasks.deploy-prod.status)
      taskRef: {name: echo}
"""


def _run_all(sched: dag.Scheduler, fail: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    order: list[str] = []
    while not sched.done():
        batch = sched.decide()
        if not batch:
            break
        for st in batch:
            order.append(st.name)
            ok = st.name not in fail
            sched.finish(st.name, "Succeeded" if ok else "Failed", {"said": st.name} if ok else {})
    return order


def test_pipeline_order_when_skips_and_finally() -> None:
    bundle = _load(TASK + "---\n" + PIPELINE)
    spec = bundle.find("Pipeline", "p").spec  # type: ignore[union-attr]
    sched = dag.Scheduler(spec, {"params.env": "dev"})
    assert sched.tasks["build"].deps == {"fetch"}
    assert sched.tasks["report"].deps == {"deploy-prod"}
    order = _run_all(sched)
    assert order.index("fetch") < order.index("build")
    assert sched.tasks["deploy-prod"].reason == dag.WHEN_FALSE
    assert sched.tasks["deploy-prod"].when == [
        {"input": "dev", "operator": "in", "values": ["prod"]}
    ]
    assert sched.tasks["notify"].status == "Succeeded"  # a when-skip stays with its task
    assert sched.tasks["report"].reason == dag.MISSING_RESULTS
    assert order[-1] == "cleanup"
    values = sched.vars()
    assert values["tasks.status"] == "Completed"
    cleanup = subst.render(spec["finally"][0]["params"][0]["value"], values)
    assert cleanup == "Completed/Succeeded/None"
    status = pipelinerun_status("pr", sched, [], [], started="a", finished="b", spec=spec)
    cond = status["conditions"][0]
    assert (cond["status"], cond["reason"]) == ("True", "Completed")
    assert cond["message"] == "Tasks Completed: 4 (Failed: 0, Cancelled 0), Skipped: 2"
    assert {t["name"] for t in status["skippedTasks"]} == {"deploy-prod", "report"}


def test_a_failure_stops_new_tasks_and_finally_still_runs() -> None:
    bundle = _load(TASK + "---\n" + PIPELINE)
    spec = bundle.find("Pipeline", "p").spec  # type: ignore[union-attr]
    sched = dag.Scheduler(spec, {"params.env": "prod"})
    order = _run_all(sched, fail={"fetch"})
    assert sched.tasks["build"].reason == dag.STOPPING
    assert order == ["fetch", "cleanup"]
    assert sched.vars()["tasks.status"] == "Failed"
    status = pipelinerun_status("pr", sched, [], [], started="a", finished="b", spec=spec)
    assert status["conditions"][0]["reason"] == "Failed"


def test_pipeline_checks() -> None:
    bad = PIPELINE.replace("runAfter: [build]", "runAfter: [biuld]").replace(
        "taskRef: {name: echo}\n  finally", "taskRef: {name: ecko}\n  finally"
    )
    with pytest.raises(InputError) as exc:
        _load(TASK + "---\n" + bad, "p.yaml")
    assert "no pipeline task 'biuld'" in str(exc.value)
    assert "Task 'ecko' is not defined" in str(exc.value)
    cyclic = PIPELINE.replace("runAfter: [build]", "runAfter: [report]")
    with pytest.raises(InputError, match="cycle detected"):
        _load(TASK + "---\n" + cyclic)


def test_matrix_cross_product_and_include() -> None:
    matrix = {
        "params": [{"name": "platform", "value": ["linux", "mac"]},
                   {"name": "browser", "value": "$(params.browsers[*])"}],
        "include": [{"name": "extra", "params": [{"name": "platform", "value": "linux"},
                                                 {"name": "flag", "value": "x"}]},
                    {"name": "new", "params": [{"name": "platform", "value": "bsd"}]}],
    }  # fmt: skip
    combos = dag.matrix_combos(matrix, {"params.browsers": ["chrome", "firefox"]})
    assert len(combos) == 5
    # Tekton's order (TaskRuns -0, -1, ... and a matrix task's result arrays): the first
    # param varies fastest
    assert [(c["platform"], c.get("browser")) for c in combos] == [
        ("linux", "chrome"), ("mac", "chrome"), ("linux", "firefox"), ("mac", "firefox"),
        ("bsd", None)]  # fmt: skip
    assert {"platform": "linux", "browser": "chrome", "flag": "x"} in combos
    assert {"platform": "bsd"} in combos


def test_params_types_and_defaults() -> None:
    obj = {"name": "o", "properties": {"k": {}, "j": {}}, "default": {"k": "1", "j": "2"}}
    specs = [{"name": "a", "type": "array"}, {"name": "s", "enum": ["x", "y"]}, obj]
    values, problems = resolve(specs, {"a": "str", "s": "z", "o": {"k": "9"}}, "Task t")
    assert "Task t: parameter 'a' is array, got string" in problems
    assert any("not in the enum list" in p for p in problems)
    assert values["o"] == {"k": "9", "j": "2"}
    _, problems = resolve([{"name": "need"}], {}, "Task t")
    assert problems == ["Task t: missing parameter 'need' (it has no default)"]


def test_results_limit_and_json_types() -> None:
    spec = {"results": [{"name": "r"}, {"name": "arr", "type": "array"}]}
    results, failure = check_results(spec, {"r": b"x\n", "arr": b'["a", 1]'})
    assert failure == ""
    assert results == [{"name": "r", "type": "string", "value": "x\n"},
                       {"name": "arr", "type": "array", "value": ["a", "1"]}]  # fmt: skip
    _, failure = check_results(spec, {"r": b"x" * 4097})
    assert "above max allowed size 4096" in failure


def test_taskrun_status_messages() -> None:
    st = taskrun_status("tr", failed_step="build", failed_code=2, timed_out=None, failure="",
                        steps=[], results=[], started="a", finished="b", spec={})  # fmt: skip
    assert st["conditions"][0]["message"] == '"step-build" exited with code 2'
    st = taskrun_status("tr", failed_step=None, failed_code=0, timed_out=90, failure="",
                        steps=[], results=[], started="a", finished="b", spec={})  # fmt: skip
    assert st["conditions"][0]["reason"] == "TaskRunTimeout"
    assert st["conditions"][0]["message"] == 'TaskRun "tr" failed to finish within "1m30s"'


def test_durations_as_go_writes_them() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration("0") == 0
    assert format_duration(3600) == "1h0m0s"
    with pytest.raises(ValueError):
        parse_duration("10")


def test_reference_spellings() -> None:
    values = {"params.a": ["x", "y"], "params.o": {"k": "v"}, "params.dotted.name": "d"}
    assert subst.render('$(params["dotted.name"]) $(params.o.k) $(params.a[1])', values) == "d v y"
    assert subst.render_list(["$(params.a[*])", "z"], values) == ["x", "y", "z"]
    assert subst.render_value("$(params.o[*])", values) == {"k": "v"}


def test_what_is_not_served_is_refused_with_positions() -> None:
    text = PIPELINE.replace(
        "      when:\n        - input: $(params.env)\n          operator: in\n"
        "          values: [prod]\n",
        "      when:\n        - cel: \"'$(params.env)' == 'prod'\"\n",
    ).replace("    - name: notify\n      runAfter: [deploy-prod]\n      taskRef: {name: echo}\n",
              "    - name: notify\n      runAfter: [deploy-prod]\n"
              "      taskRef: {apiVersion: example.dev/v1, kind: Wait, name: echo}\n")  # fmt: skip
    with pytest.raises(InputError) as exc:
        _load(TASK + "---\n" + text, "p.yaml")
    message = str(exc.value)
    assert "CEL when expressions are not served" in message
    assert "custom task example.dev/v1 Wait: custom tasks are not served" in message
    with pytest.raises(InputError, match="remote resolution is not served"):
        _load(PIPELINE.replace("taskRef: {name: echo}\n  finally",
                               "taskRef: {resolver: git}\n  finally"))  # fmt: skip


def test_an_array_param_used_as_a_string_is_refused() -> None:
    text = TASK.replace('echo -n "$(params.greeting)"', 'echo -n "$(params.flags)"')
    with pytest.raises(InputError) as exc:
        _load(text, "t.yaml")
    assert "variable type invalid in $(params.flags): the array param 'flags'" in str(exc.value)
    inside = TASK.replace('"$(params.flags[0])"', '"x$(params.flags[*])"')
    with pytest.raises(InputError, match=r"variable type invalid in \$\(params\.flags\[\*\]\)"):
        _load(inside)


def test_an_array_param_whole_in_args_is_spliced_as_tekton_does() -> None:
    text = TASK.replace('args: ["$(params.flags[*])"', 'args: ["$(params.flags)"')
    bundle = _load(text)
    values = task_vars(bundle.docs[0].spec, {"greeting": "hi", "flags": ["-n", "-e"],
                                             "img": {"repo": "r", "tag": "t"}}, {}, {})  # fmt: skip
    (say, _) = plan_steps(bundle.docs[0].spec, values, {})
    assert say.args[:2] == ["-n", "-e"]


EMBEDDED = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: r}
spec:
  params: [{name: from-run, value: x}]
  pipelineSpec:
    tasks:
      - name: t
        displayName: "on $(params.os)"
        matrix:
          params: [{name: os, value: [linux, mac]}]
        params: [{name: from-task, value: y}]
        taskSpec:
          steps:
            - name: s
              image: busybox
              script: echo $(params.from-run) $(params.from-task) $(params.os) $(params.nope)
"""


def test_embedded_specs_see_what_tekton_propagates_and_nothing_else() -> None:
    with pytest.raises(InputError) as exc:
        _load(EMBEDDED)
    lines = str(exc.value).splitlines()
    assert len(lines) == 1 and "$(params.nope)" in lines[0], lines
    _load(EMBEDDED.replace(" $(params.nope)", ""))
    task = TASK.replace('$(params.greeting)"', '$(params.from-run)"')
    with pytest.raises(InputError, match=r"\$\(params\.from-run\)"):  # a Task: declared only
        _load(task)


def test_v1beta1s_inputs_params_spelling_is_still_substituted() -> None:
    spec = {
        "params": [{"name": "a"}],
        "steps": [{"name": "s", "image": "busybox", "script": "echo $(inputs.params.a)"}],
    }
    values = task_vars(spec, {"a": "1"}, {}, {})
    (step,) = plan_steps(spec, values, {})
    assert step.script is not None and step.script.endswith("echo 1")


def test_a_task_refs_kind_other_than_cluster_task_names_a_task_as_in_tekton() -> None:
    run = "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r}\nspec:\n" \
          "  taskRef: {name: echo, kind: task}\n"  # fmt: skip
    bundle = _load(TASK + "---\n" + run)
    assert bundle.find("task", "echo") is bundle.docs[0]
    with pytest.raises(InputError, match="'nope' is not defined in the files given"):
        _load(TASK + "---\n" + run.replace("name: echo", "name: nope"))


def test_task_volumes_and_volume_mounts_are_refused_not_ignored() -> None:
    text = TASK.replace(
        "  steps:\n    - name: say\n",
        "  volumes: [{name: v, emptyDir: {}}]\n"
        "  steps:\n    - name: say\n      volumeMounts: [{name: v, mountPath: /v}]\n",
    )
    with pytest.raises(InputError) as exc:
        _load(text, "t.yaml")
    lines = str(exc.value).splitlines()
    assert len(lines) == 2 and all("a Task's own volumes and volumeMounts" in ln for ln in lines)
    assert "spec.volumes:" in lines[0] and "spec.steps[0].volumeMounts:" in lines[1]
