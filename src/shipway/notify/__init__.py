"""Notifications: Argo CD's ``argocd-notifications-cm`` read as-is, delivered once.

- ``config``: the ConfigMap (services, templates, triggers, subscriptions) and ``$key`` secrets;
- ``catalog``: shipway's built-in triggers and templates (on-sync-succeeded, on-deployed ...);
- ``evaluate``: subscriptions, trigger conditions (expr-lang), templates (Go
  text/template), dedupe keys; pure;
- ``services``: one module per service (webhook, slack, email) behind one interface;
- ``worker``: ``run_pass(store)``, evaluate into the durable outbox
  (``shipway.store.outbox``) and deliver with retries; the controller calls it.
"""
