"""An HTTP fake of the Kubernetes API, for the reconciler's Kubernetes target tests.

No API server can run on these machines; this fake serves what the
reconciler uses (discovery, CRUD, label selectors, watch, server-side apply
with field managers, resource versions, 404/409/422 Status errors) and is
held honest by ``tests/integration/deploy/test_kube_contract.py``, which also
runs against a real cluster when ``SHIPWAY_TEST_KUBECONFIG`` is set.
"""
