"""The demo's promotion pipeline: test, uat and prod, as Kargo and Argo CD users write them.

Pure: functions return ``{path: text}`` maps and YAML texts for the given
addresses; the demo runner writes, commits and applies them.

- the config repo gains ``overlays/<stage>`` (its Service port and greeting);
- an ``ApplicationSet`` (list generator) makes ``hello-test``, ``hello-uat`` and
  ``hello-prod``, each following its stage branch ``stage/<stage>`` (rendered
  manifests, as Kargo's quickstart does) into its own namespace;
- a Kargo ``Project`` with a ``ProjectConfig`` (automatic promotion into test and
  uat, each rolled back automatically when its verification fails), a
  ``Warehouse`` on the local registry's ``demo/hello``, an Argo Rollouts
  ``AnalysisTemplate`` asking the stage's ``/cgi-bin/health`` (web provider), and
  three ``Stage``s: test from the Warehouse, uat from test after a soak, prod from
  uat, promoted by a person.
"""

from __future__ import annotations

STAGES = ("test", "uat", "prod")
PROJECT = "hello"
SOAK = "10s"

HEALTH_PATH = "www/cgi-bin/health"

_HEALTH_CGI = """\
#!/bin/sh
# The app's own health check: what the stages' verification asks (GET /cgi-bin/health).
printf 'Content-Type: application/json\\r\\n\\r\\n'
printf '{"healthy": @HEALTHY@, "version": "%s"}\\n' "$(cat /www/VERSION)"
"""


def health_cgi(healthy: bool) -> str:
    """The health CGI: it answers ``{"healthy": true}`` (or ``false``, the demo's bad build)."""
    return _HEALTH_CGI.replace("@HEALTHY@", "true" if healthy else "false")


def app_name(stage: str) -> str:
    return f"{PROJECT}-{stage}"


def overlay_files(registry: str, ports: dict[str, int]) -> dict[str, str]:
    files: dict[str, str] = {}
    for stage in STAGES:
        files[f"overlays/{stage}/kustomization.yaml"] = f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base
patches:
  - path: configmap.yaml
  - path: service.yaml
# Each promotion to {stage} pins the Freight's digest here (kustomize-set-image).
images:
  - name: hello
    newName: {registry}/demo/hello
    newTag: latest
"""
        files[f"overlays/{stage}/configmap.yaml"] = f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: hello-config
data:
  greeting: hello from {stage}
"""
        files[f"overlays/{stage}/service.yaml"] = f"""\
apiVersion: v1
kind: Service
metadata:
  name: hello
spec:
  ports:
    - port: 8080
      targetPort: 8080
      nodePort: {ports[stage]}
"""
    return files


def _steps(config_url: str, registry: str) -> str:
    image = f"{registry}/demo/hello"
    return f"""\
      steps:
        - uses: git-clone
          config:
            repoURL: {config_url}
            checkout:
              - branch: main
                path: ./src
              - branch: stage/${{{{ vars.stage }}}}
                create: true
                path: ./out
        - uses: git-clear
          config:
            path: ./out
        - uses: kustomize-set-image
          as: update-image
          config:
            path: ./src/overlays/${{{{ vars.stage }}}}
            images:
              - image: hello
                newName: {image}
                digest: ${{{{ imageFrom("{image}").Digest }}}}
        - uses: kustomize-build
          config:
            path: ./src/overlays/${{{{ vars.stage }}}}
            outPath: ./out
        - uses: git-commit
          as: commit
          config:
            path: ./out
            message: ${{{{ outputs['update-image'].commitMessage }}}}
        - uses: git-push
          as: push
          config:
            path: ./out
        - uses: argocd-update
          config:
            apps:
              - name: {PROJECT}-${{{{ vars.stage }}}}
                sources:
                  - repoURL: {config_url}
                    desiredRevision: ${{{{ outputs.push.commit }}}}
"""


def _stage(name: str, source: str, config_url: str, registry: str, ports: dict[str, int]) -> str:
    soak = f"\n        requiredSoakTime: {SOAK}" if name != "test" else ""
    return f"""\
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: {name}
  namespace: {PROJECT}
spec:
  requestedFreight:
    - origin:
        kind: Warehouse
        name: {PROJECT}
      sources:
        {source}{soak}
  promotionTemplate:
    spec:
      vars:
        - name: stage
          value: {name}
{_steps(config_url, registry)}  verification:
    analysisTemplates:
      - name: app-health
    args:
      - name: url
        value: http://127.0.0.1:{ports[name]}/cgi-bin/health
"""


def kargo_yaml(config_url: str, registry: str, ports: dict[str, int]) -> str:
    elements = "\n".join(f"          - stage: {s}" for s in STAGES)
    head = f"""\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: {PROJECT}
  namespace: argocd
spec:
  generators:
    - list:
        elements:
{elements}
  template:
    metadata:
      name: '{PROJECT}-{{{{stage}}}}'
      annotations:
        kargo.akuity.io/authorized-stage: '{PROJECT}:{{{{stage}}}}'
    spec:
      project: default
      source:
        repoURL: {config_url}
        targetRevision: 'stage/{{{{stage}}}}'
        path: .
      destination:
        name: local
        namespace: '{{{{stage}}}}'
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata:
  name: {PROJECT}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata:
  name: {PROJECT}
  namespace: {PROJECT}
spec:
  promotionPolicies:
    - stageSelector:
        name: test
      autoPromotionEnabled: true
      autoRollback:
        onVerification: [Failed]
    - stageSelector:
        name: uat
      autoPromotionEnabled: true
      autoRollback:
        onVerification: [Failed]
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: {PROJECT}
  namespace: {PROJECT}
spec:
  interval: 5m0s
  subscriptions:
    - image:
        repoURL: {registry}/demo/hello
        imageSelectionStrategy: NewestBuild
        discoveryLimit: 5
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: app-health
  namespace: {PROJECT}
spec:
  args:
    - name: url
  metrics:
    - name: health
      count: 2
      interval: 1s
      failureLimit: 0
      successCondition: result == true
      provider:
        web:
          url: '{{{{args.url}}}}'
          timeoutSeconds: 5
          jsonPath: '{{$.healthy}}'
"""
    stages = [
        _stage("test", "direct: true", config_url, registry, ports),
        _stage("uat", "stages: [test]", config_url, registry, ports),
        _stage("prod", "stages: [uat]", config_url, registry, ports),
    ]
    return head + "".join(stages)
