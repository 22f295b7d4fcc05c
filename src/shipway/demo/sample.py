"""The demo's sample content: an app repo, a config repo and the resources binding them.

Pure: functions return ``{path: text}`` maps and YAML texts for the given
addresses; the demo runner writes and commits them.
"""

from __future__ import annotations

from shipway.demo import stages

APP = "hello"
APP_NAME = "hello-dev"

_CGI = """\
#!/bin/sh
# A tiny HTTP service: busybox httpd runs this for GET /cgi-bin/version.
printf 'Content-Type: application/json\\r\\n\\r\\n'
printf '{"app": "hello", "version": "%s", "greeting": "%s", "host": "%s"}\\n' \\
  "$(cat /www/VERSION)" "${GREETING:-}" "$(hostname)"
"""

_TEST = """\
#!/bin/sh
# Unit tests of the sample app, run by CI before the image is built.
set -eu
version=$(cat www/VERSION)
echo "$version" | grep -Eq '^[0-9]+\\.[0-9]+\\.[0-9]+$' || { echo "bad VERSION: $version"; exit 1; }
grep -q "version $version" www/index.html || { echo "index.html does not show $version"; exit 1; }
[ -x www/cgi-bin/version ] || { echo "cgi-bin/version is not executable"; exit 1; }
[ -x www/cgi-bin/health ] || { echo "cgi-bin/health is not executable"; exit 1; }
echo "ok: version $version"
"""

_DOCKERFILE = """\
# The sample app on the demo's locally built busybox base image.
ARG REGISTRY
FROM ${REGISTRY}/demo/base:1
COPY www /www
EXPOSE 8080
# The shell (PID 1) exits on SIGTERM, so a rollout stops the old pod at once: httpd
# as PID 1 would ignore SIGTERM and every rollout would wait out the grace period.
CMD ["/bin/sh", "-c", "trap 'exit 0' TERM; /bin/httpd -f -v -p 8080 -h /www & wait"]
"""

_WORKFLOW = """\
name: CI
on:
  push:
    branches: [main]
  pull_request:
    branches: [main]

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Run tests
        run: sh ./test.sh
      - name: Build and push image
        env:
          IMAGE: ${{ vars.REGISTRY }}/demo/hello:${{ github.sha }}
        run: |
          # Reproducible: the image's created time is the commit's time.
          export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
          shipway image build . -t "$IMAGE" \\
            --build-arg REGISTRY=${{ vars.REGISTRY }} \\
            --label org.opencontainers.image.revision=${{ github.sha }} \\
            --push
"""


# The same CI as a Tekton PipelineRun the controller picks as Pipelines-as-Code does
# (``shipway demo --ci tekton``): fetch, test, build and push; {{ REGISTRY }} is the
# Pipeline's var, {{ repo_url }} and {{ revision }} the push's.
_TEKTON = """\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: hello-ci
  annotations:
    pipelinesascode.tekton.dev/on-event: "[push]"
    pipelinesascode.tekton.dev/on-target-branch: "[main]"
spec:
  params:
    - {name: repo-url, value: "{{ repo_url }}"}
    - {name: revision, value: "{{ revision }}"}
    - {name: registry, value: "{{ REGISTRY }}"}
  workspaces:
    - {name: source, emptyDir: {}}
  pipelineSpec:
    params: [{name: repo-url}, {name: revision}, {name: registry}]
    workspaces: [{name: source}]
    results:
      - {name: IMAGE_DIGEST, value: $(tasks.build.results.IMAGE_DIGEST)}
    tasks:
      - name: fetch-source
        params:
          - {name: url, value: $(params.repo-url)}
          - {name: revision, value: $(params.revision)}
        workspaces: [{name: output, workspace: source}]
        taskSpec:
          params: [{name: url}, {name: revision}]
          workspaces: [{name: output}]
          results: [{name: commit}]
          steps:
            - name: clone
              image: ghcr.io/shipway/git:1
              workingDir: $(workspaces.output.path)
              script: |
                git init -q .
                git fetch -q "$(params.url)" "+refs/heads/*:refs/remotes/origin/*"
                git checkout -q "$(params.revision)"
                printf '%s' "$(git rev-parse HEAD)" > $(results.commit.path)
      - name: test
        runAfter: [fetch-source]
        workspaces: [{name: source, workspace: source}]
        taskSpec:
          workspaces: [{name: source}]
          steps:
            - name: test
              image: busybox
              workingDir: $(workspaces.source.path)
              script: sh ./test.sh
      - name: build
        runAfter: [test]
        params:
          - name: IMAGE
            value: "$(params.registry)/demo/hello:$(tasks.fetch-source.results.commit)"
        workspaces: [{name: source, workspace: source}]
        taskSpec:
          params: [{name: IMAGE}]
          workspaces: [{name: source}]
          results: [{name: IMAGE_DIGEST}, {name: IMAGE_URL}]
          steps:
            - name: build-and-push
              workingDir: $(workspaces.source.path)
              script: |
                # Reproducible: the image's created time is the commit's time.
                export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
                shipway image build . -t "$(params.IMAGE)" --no-sbom \\
                  --build-arg REGISTRY=$(params.registry) \\
                  --label org.opencontainers.image.revision=$(git rev-parse HEAD) \\
                  --push -o 'jsonpath={.digest}' > $(results.IMAGE_DIGEST.path)
                printf '%s' "$(params.IMAGE)" > $(results.IMAGE_URL.path)
"""


def index_html(version: str) -> str:
    return (
        "<!doctype html>\n<title>hello</title>\n"
        f"<h1>hello from shipway</h1>\n<p>version {version}</p>\n"
    )


def app_files(version: str, healthy: bool = True, ci: str = "github") -> dict[str, str]:
    """The app at ``version``; ``healthy=False`` ships a health check that answers false.

    Its CI is a GitHub Actions workflow, or (``ci="tekton"``) a Tekton PipelineRun in ``.tekton/``.
    """
    files = {
        "www/VERSION": version + "\n",
        "www/index.html": index_html(version),
        "www/cgi-bin/version": _CGI,
        stages.HEALTH_PATH: stages.health_cgi(healthy),
        "test.sh": _TEST,
        "Dockerfile": _DOCKERFILE,
        ".github/workflows/ci.yml": _WORKFLOW,
        "README.md": "# hello\n\nThe shipway demo app: `GET /cgi-bin/version` reports it, "
        "`GET /cgi-bin/health` says whether it is healthy.\n",
    }
    if ci == "tekton":
        del files[".github/workflows/ci.yml"]
        files[".tekton/push.yaml"] = _TEKTON
    return files


def bump(version: str) -> str:
    major, minor, patch = (int(p) for p in version.split("."))
    return f"{major}.{minor}.{patch + 1}"


def config_files(registry: str, app_port: int) -> dict[str, str]:
    base = {
        "base/kustomization.yaml": (
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources:\n  - deployment.yaml\n  - service.yaml\n  - configmap.yaml\n"
        ),
        "base/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  labels: {app: hello}
spec:
  replicas: 1
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      # The app exits on SIGTERM (its Dockerfile); were it not to, wait 1 s, not 30 s.
      terminationGracePeriodSeconds: 1
      containers:
        - name: hello
          image: hello
          ports:
            - containerPort: 8080
          env:
            - name: GREETING
              valueFrom:
                configMapKeyRef: {name: hello-config, key: greeting}
""",
        "base/service.yaml": f"""\
apiVersion: v1
kind: Service
metadata:
  name: hello
spec:
  type: NodePort
  selector: {{app: hello}}
  ports:
    - port: 8080
      targetPort: 8080
      nodePort: {app_port}
""",
        "base/configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: hello-config
data:
  greeting: hello from base
""",
    }
    overlay = {
        "overlays/dev/kustomization.yaml": f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
patches:
  - path: configmap.yaml
# The image updater rewrites this entry (pinned by digest) on every new build.
images:
  - name: hello
    newName: {registry}/demo/hello
    newTag: latest
""",
        "overlays/dev/configmap.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: hello-config
data:
  greeting: hello from dev
""",
        "README.md": "# config\n\nThe demo's GitOps config: kustomize base + dev overlay.\n",
    }
    return base | overlay


def resources_yaml(source_url: str, config_url: str, registry: str) -> str:
    return f"""\
apiVersion: shipway.dev/v1alpha1
kind: Pipeline
metadata:
  name: {APP}
spec:
  source:
    repoURL: {source_url}
    branches: [main]
  applications: [{APP_NAME}]
  vars:
    REGISTRY: "{registry}"
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {APP_NAME}
  annotations:
    argocd-image-updater.argoproj.io/image-list: app={registry}/demo/hello
    argocd-image-updater.argoproj.io/app.update-strategy: newest-build
    argocd-image-updater.argoproj.io/app.kustomize.image-name: hello
    argocd-image-updater.argoproj.io/write-back-method: git
    argocd-image-updater.argoproj.io/write-back-target: kustomization
    argocd-image-updater.argoproj.io/git-branch: main
spec:
  project: default
  source:
    repoURL: {config_url}
    path: overlays/dev
    targetRevision: main
  destination:
    name: local
    namespace: dev
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
"""
