"""Gates before anything deploys: image signatures (Kyverno ``verifyImages``) and manifests.

- ``workloads``: pure: the images of rendered manifests, and which objects a rule matches.
- ``conditions``: pure: Kyverno's attestation ``conditions`` (JMESPath in ``{{ }}``).
- ``imagegate``: verify each matched image's signatures and attestations (registry I/O),
  results cached by digest.
- ``rego``: conftest-style Rego policies (``deny``/``violation``/``warn``) with regopy.
- ``lint``: pure: kube-linter's default checks, written for shipway.
- ``manifests``: both manifest checks together, as findings.
"""
