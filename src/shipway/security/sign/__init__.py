"""Image signatures and attestations, in cosign's registry layout.

- ``envelope``: pure builders and parsers: the simple-signing payload, DSSE
  envelopes (PAE), in-toto Statements and SLSA v1 provenance predicates.
- ``keys``: ECDSA P-256 key pairs (PKCS#8 PEM, password-encrypted) and raw
  sign/verify over bytes.
- ``storage``: where signatures and attestations live in a registry: the
  ``sha256-<hex>.sig`` / ``.att`` tags cosign reads, plus an OCI 1.1 referrer
  (with the referrers tag-schema fallback) for tools that read referrers.
- ``service``: sign, verify, attest and list attestations of an image reference.
"""
