"""Kargo and Argo Rollouts objects shaped as their documentation shows them (written here)."""

from __future__ import annotations

PROJECT = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata:
  name: kargo-demo
"""

WAREHOUSE = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: guestbook
  namespace: kargo-demo
spec:
  subscriptions:
  - image:
      repoURL: public.ecr.aws/nginx/nginx
      constraint: ^1.26.0
"""

FREIGHT = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata:
  name: 4e2b5a1f3c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b
  namespace: kargo-demo
alias: brave-eagle
origin: {kind: Warehouse, name: guestbook}
images:
- {repoURL: public.ecr.aws/nginx/nginx, tag: 1.27.0}
"""

PROJECT_CONFIG = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata:
  name: kargo-demo
  namespace: kargo-demo
spec:
  promotionPolicies:
  - stageSelector:
      name: test
    autoPromotionEnabled: true
    autoRollback: {}
  - stageSelector:
      name: "glob:uat-*"
      matchLabels:
        tier: pre-prod
    autoPromotionEnabled: true
  - stageSelector:
      name: "regex:^prod-(eu|us)$"
      matchExpressions:
      - {key: region, operator: In, values: [eu, us]}
  promotionWindows:
  - name: weekday-business-hours
    kind: Allow
    rrule: FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR
    dtstart: TZID=Europe/Paris:20260105T090000
    dtend: TZID=Europe/Paris:20260105T170000
  - name: year-end-freeze
    kind: Deny
    stageSelector:
      name: "glob:prod-*"
    dtstart: 20261220T000000Z
    dtend: 20270104T000000Z
"""

PROMOTION_TASK = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata:
  name: update-config
  namespace: kargo-demo
spec:
  vars:
  - name: repoURL
    value: https://github.com/example/kargo-demo.git
  - name: branch
  steps:
  - uses: git-clone
    config:
      repoURL: ${{ vars.repoURL }}
      checkout:
      - branch: main
        path: ./src
      - branch: ${{ vars.branch }}
        create: true
        path: ./out
  - uses: git-clear
    config:
      path: ./out
  - uses: kustomize-set-image
    as: update-image
    config:
      path: ./src/base
      images:
      - image: public.ecr.aws/nginx/nginx
        tag: ${{ imageFrom("public.ecr.aws/nginx/nginx").Tag }}
  - uses: kustomize-build
    config:
      path: ./src/stages/${{ ctx.stage }}
      outPath: ./out
  - uses: git-commit
    as: commit
    config:
      path: ./out
      message: ${{ task.outputs['update-image'].commitMessage }}
  - uses: git-push
    as: push
    retry:
      errorThreshold: 3
      timeout: 5m
    config:
      path: ./out
"""

CLUSTER_PROMOTION_TASK = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: ClusterPromotionTask
metadata:
  name: sync-app
spec:
  vars:
  - name: app
  steps:
  - uses: argocd-update
    if: ${{ success() }}
    config:
      apps:
      - name: ${{ vars.app }}
        sources:
        - repoURL: https://github.com/example/kargo-demo.git
          desiredRevision: ${{ outputs.commit.commit }}
"""

STAGE_TEST = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: test
  namespace: kargo-demo
spec:
  shard: main
  vars:
  - name: gitRepo
    value: https://github.com/example/kargo-demo.git
  requestedFreight:
  - origin:
      kind: Warehouse
      name: guestbook
    sources:
      direct: true
  promotionTemplate:
    spec:
      steps:
      - task:
          name: update-config
        vars:
        - name: branch
          value: stage/${{ ctx.stage }}
      - task:
          name: sync-app
          kind: ClusterPromotionTask
        vars:
        - name: app
          value: kargo-demo-${{ ctx.stage }}
  verification:
    analysisTemplates:
    - name: health-check
    analysisRunMetadata:
      labels:
        team: web
    args:
    - name: url
      value: http://test.example/healthz
"""

STAGE_UAT = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: uat
  namespace: kargo-demo
spec:
  requestedFreight:
  - origin:
      kind: Warehouse
      name: guestbook
    sources:
      stages: [test]
      requiredSoakTime: 1h
      availabilityStrategy: OneOf
      autoPromotionOptions:
        selectionPolicy: MatchUpstream
  promotionTemplate:
    spec:
      steps:
      - uses: git-clone
        config:
          repoURL: ${{ vars.gitRepo }}
          checkout:
          - branch: main
            path: ./src
      - uses: yaml-update
        as: update
        config:
          path: ./src/uat/values.yaml
          updates:
          - key: image.tag
            value: ${{ quote(imageFrom("public.ecr.aws/nginx/nginx").Tag) }}
      - uses: git-commit
        config:
          path: ./src
          message: ${{ outputs.update.commitMessage }}
      - uses: git-push
        config:
          path: ./src
      - uses: http
        continueOnError: true
        config:
          method: POST
          url: https://hooks.example/deployed
          successExpression: response.status == 200
"""

PROMOTION = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Promotion
metadata:
  name: test.01j2w7aknhf3j7vyyhbsjx2dp3.4e2b5a1
  namespace: kargo-demo
spec:
  stage: test
  freight: 4e2b5a1f3c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b
  vars:
  - name: branch
    value: stage/test
  steps:
  - uses: git-clone
    as: task-1::clone
    config:
      {repoURL: "https://github.com/example/kargo-demo.git", checkout: [{path: ./out}]}
  - uses: git-push
    config:
      path: ./out
status:
  phase: Running
  currentStep: 1
  stepExecutionMetadata:
  - alias: task-1::clone
    startedAt: "2026-01-05T09:00:00Z"
    finishedAt: "2026-01-05T09:00:02Z"
    status: Succeeded
"""

ANALYSIS_TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: health-check
  namespace: kargo-demo
spec:
  args:
  - name: url
  - name: token
    valueFrom:
      secretKeyRef: {name: probe-token, key: token}
  metrics:
  - name: healthz
    interval: 10s
    count: 3
    failureLimit: 1
    successCondition: result == "ok"
    provider:
      web:
        url: "{{args.url}}"
        headers:
        - key: Authorization
          value: "Bearer {{args.token}}"
        jsonPath: "{$.status}"
        timeoutSeconds: 5
  - name: error-rate
    initialDelay: 30s
    successCondition: result[0] < 0.05
    failureCondition: result[0] >= 0.1
    provider:
      prometheus:
        address: http://prometheus.example:9090
        query: sum(rate(http_requests_total{code=~"5.."}[1m]))
        timeout: 20
  - name: smoke
    provider:
      job:
        spec:
          backoffLimit: 0
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: smoke
                image: curlimages/curl
                command: [curl, -fsS, "{{args.url}}"]
"""

CLUSTER_ANALYSIS_TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: ClusterAnalysisTemplate
metadata:
  name: always-pass
spec:
  metrics:
  - name: pass
    provider:
      web:
        method: POST
        url: http://echo.example/
        jsonBody: {ok: true}
"""

ANALYSIS_RUN = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: test.01j2w7b
  namespace: kargo-demo
spec:
  args:
  - name: url
    value: http://test.example/healthz
  metrics:
  - name: healthz
    successCondition: result == "ok"
    provider:
      web:
        url: "{{args.url}}"
status:
  phase: Successful
  metricResults:
  - name: healthz
    phase: Successful
    count: 1
    successful: 1
    measurements:
    - phase: Successful
      value: ok
"""

ALL = "---\n".join(
    [
        PROJECT,
        WAREHOUSE,
        FREIGHT,
        PROJECT_CONFIG,
        PROMOTION_TASK,
        CLUSTER_PROMOTION_TASK,
        STAGE_TEST,
        STAGE_UAT,
        PROMOTION,
        ANALYSIS_TEMPLATE,
        CLUSTER_ANALYSIS_TEMPLATE,
        ANALYSIS_RUN,
    ]
)
"""Everything above, one document after another (a whole project that applies cleanly)."""
