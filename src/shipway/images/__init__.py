"""OCI images: a daemonless Dockerfile builder, a registry client, an OCI layout store.

Modules (adapters unless marked pure):

- ``reference`` (pure): ``parse("host/repo:tag@sha256:…")`` / ``oci:DIR[:TAG]`` → ``Reference``.
- ``oci`` (pure): media types, digests, platform selection.
- ``registry``: ``RegistryClient(host, insecure=None, credentials=None)`` — ping,
  list_tags, catalog, head_manifest, get_manifest, get_image_manifest, get_config,
  blob_exists, get_blob, download_blob, upload_blob (monolithic / chunked,
  resumable), mount_blob, put_manifest, delete, delete_blob, referrers; with
  ``auth`` (basic, bearer token negotiation), ``credentials`` (docker config,
  ``docker-credential-*``), ``cloud`` (ECR, GCR / Artifact Registry, ACR),
  ``upload`` and ``httputil``.
- ``layout``: the OCI image layout (``oci-layout``, ``index.json``, ``blobs/``).
- ``store``: ``Store(root)``: the layout plus build cache and blob provenance
  (default ``$SHIPWAY_HOME/images``).
- ``transfer``: ``pull``, ``push`` (only what the registry lacks, mounts), ``copy``.
- ``query``: ``inspect`` and ``tags`` for registry refs and ``oci:DIR``.
- ``artifacts``: OCI 1.1 artifacts with ``subject`` (referrers, with the tag fallback).
- ``build``: ``build(context, …) -> BuildResult`` (see ``build/__init__.py``).
"""
