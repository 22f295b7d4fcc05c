"""Identity and access: local accounts, API and session tokens, and RBAC.

- ``passwords``: argon2 hashes of account passwords (``argon2-cffi``).
- ``tokens``: token strings, their SHA-256, ``24h``-style lifetimes (pure).
- ``rbac``: Argo CD's ``argocd-rbac-cm`` policy (``policy.csv``,
  ``policy.default``, ``scopes``, ``policy.matchMode``) read as-is and
  enforced with casbin, with Argo CD's built-in ``role:readonly`` and
  ``role:admin`` (pure: plain data in, yes/no out).
- ``accounts``: create accounts, log in with a password, issue, check and
  revoke tokens, bootstrap the initial ``admin`` account.
- ``policy``: the stored ``argocd-rbac-cm`` ConfigMap as an ``rbac.Policy``.

No I/O but the store (and, for the initial admin secret, one file under
``$SHIPWAY_HOME``).
"""
