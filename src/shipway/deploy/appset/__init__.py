"""Argo CD's ApplicationSet: generators make parameters, a template makes Applications.

- ``inputs``: what generators read (git trees and files, clusters, open pull
  requests), as one small interface the engine implements; plain data types.
- ``pullrequest``: the pull-request generator's parameters and filters (pure).
- ``generators``: list, git, clusters, matrix, merge, pullRequest (pure: they
  read only what ``inputs`` hands them).
- ``render``: ``{{param}}`` (fasttemplate) and ``goTemplate`` rendering,
  ``templatePatch``, a generator's own ``template`` (pure).
- ``plan``: the Applications an ApplicationSet wants and what to create,
  update and delete for its ``applicationsSync`` policy (pure).
- ``engine``: the adapter: reads git, forges and the store, writes
  Applications owned by their ApplicationSet, prunes them, records status.

The interface other engines build on (previews), kept stable:
``inputs.PullInfo``; ``pullrequest.params``/``slug``/``selected``;
``plan.desired(appset, inputs)``, ``plan.OWNER_LABEL``, ``plan.owned_by``;
``engine.reconcile(store, settings, name, namespace, inputs=None) -> Result``
(``created``/``updated``/``deleted``/``unchanged``/``held``/``conflicts``/``error``),
``engine.StoreInputs``, ``engine.generators_of``, ``engine.delete_app``;
``git.forge.Forge.list_pulls()`` (conditional requests); and in the controller
``controller.appsets.pull_request_items(store, event)``.
"""
