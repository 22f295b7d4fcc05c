"""The preview engine: one running copy of the app per open pull request.

``Previews(store, settings)`` works on stored preview sets (ApplicationSets
with ``shipway.dev/previews: "true"``), through the ApplicationSet pieces of
``deploy.appset`` (the pullRequest generator, its parameters and filters, the
template rendering, the forge clients that keep their ETags):

- ``refresh(appset)`` lists the forge's open pull requests (conditional
  requests: an unchanged list costs 304s) and returns the work it means:
  ``Action("deploy", …)`` for a pull request whose head (or rendered
  Application) is new, ``Action("teardown", …)`` for a stored preview whose
  pull request is gone (closed, merged, filtered out). A forge that cannot be
  listed raises: nothing is torn down on a failed listing.
- ``run(action)`` does one unit: a deploy waits for the pull request's CI when
  a ``Pipeline`` runs it (phase ``Building``; ``ci_finished`` moves it on),
  stores the rendered Application with the ``shipway.dev/preview`` annotation,
  its owner and its own namespace, syncs it, waits for health and reports the
  URL (``report``); a failure is the preview's own (phase ``Failed`` with the
  reason) and never stops other previews. A teardown deletes the Applications
  (their objects pruned, their pods gone), frees the ports and forgets the
  record; ``delete`` does it by hand until the next push.
- ``expired(at)`` gives the teardowns TTL and idle expiry call for;
  ``resume()`` the interrupted work after a restart; ``due`` the sets to poll.

State: the ``previews`` table (``store.previews``); in ``engine_state`` how
each head's CI ended (``previews.ci``) and hand deletions
(``previews.deleted``). May touch the store, the forge (through ``git.forge``)
and the reconciler (``deploy.engine``, ``deploy.history``).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipway.deploy import engine as deploy_engine
from shipway.deploy import history
from shipway.deploy.appset import engine as appset_engine
from shipway.deploy.appset import generators as gen
from shipway.deploy.appset import plan as appset_plan
from shipway.deploy.appset import render as appset_render
from shipway.deploy.preview_ports import ANNOTATION
from shipway.git import forge as forge_mod
from shipway.model import events as ev
from shipway.model import namespaces
from shipway.model.errors import ClusterError, InputError, NotFoundError, ShipwayError
from shipway.model.preview import Preview, dns_label, is_preview_set, preview_name
from shipway.model.release import now
from shipway.model.resources import Resource
from shipway.promote.previews import place, report
from shipway.promote.previews import source as source_mod
from shipway.settings import Settings
from shipway.store import emitters, runs
from shipway.store import events as store_events
from shipway.store import previews as store_previews
from shipway.store import resources as store_resources
from shipway.store.db import Store

log = logging.getLogger("shipway.previews")
DELETED_ENGINE = "previews.deleted"  # engine_state: a preview deleted by hand, at its head
CI_ENGINE = "previews.ci"  # engine_state: how the pull request CI of a head commit ended


@dataclass(frozen=True)
class Action:
    """One unit of preview work: ``deploy`` (a pull request at a head) or ``teardown``."""

    verb: str
    preview: str
    appset: str = ""  # namespace/name
    head_sha: str = ""
    reason: str = ""

    @property
    def key(self) -> str:
        return f"preview|{self.verb}|{self.preview}|{self.head_sha}"

    def to_dict(self) -> dict[str, str]:
        return {"verb": self.verb, "preview": self.preview, "appset": self.appset,
                "head_sha": self.head_sha, "reason": self.reason}  # fmt: skip


def _source(appset: Resource, p: Preview) -> source_mod.Source | None:
    """The generator of ``appset`` that lists ``p``'s repository."""
    return next((s for s in source_mod.sources(appset.body)
                 if s.provider == p.forge and s.project == p.project), None)  # fmt: skip


def _ref(app: Resource) -> str:
    return f"{app.namespace}/{app.name}"


class Previews:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        forges: appset_engine.ForgeCache | None = None,
        health_timeout: float = 60.0,
    ) -> None:
        self.store, self.settings = store, settings
        self.forges = forges or appset_engine.FORGES  # clients keep their ETags between passes
        self.health_timeout = health_timeout

    # -- what exists ------------------------------------------------------------------------

    def appsets(self) -> list[Resource]:
        """Stored preview ApplicationSets (``shipway.dev/previews: "true"``)."""
        return [a for a in store_resources.list_kind(self.store, "ApplicationSet")
                if is_preview_set(a.body)]  # fmt: skip

    def appset(self, ref: str) -> Resource | None:
        ns, _, name = ref.rpartition("/")
        return store_resources.find(self.store, "ApplicationSet", name, ns or None)

    def token(self, appset: Resource, src: source_mod.Source) -> str:
        """``tokenRef``'s key (the Secret manifest under ``$SHIPWAY_HOME/secrets``, as the
        ApplicationSet engine reads it), else ``SHIPWAY_FORGE_TOKEN``."""
        ref = src.token_ref
        if not ref.get("secretName"):
            return os.environ.get("SHIPWAY_FORGE_TOKEN", "")
        return appset_engine.read_secret(self.settings, appset.namespace, ref["secretName"],
                                         ref.get("key") or "token")  # fmt: skip

    def client(self, p: Preview, token: str) -> forge_mod.Forge:
        """The forge client of ``p``'s generator (the one its listing used: ``insecure``
        as the generator says, so statuses and comments reach a forge of its own CA)."""
        appset = self.appset(f"{p.appset_namespace}/{p.appset}")
        src = _source(appset, p) if appset is not None else None
        insecure = src.insecure if src is not None else False
        return self.forges.client(p.forge, p.api, p.project, token, insecure)

    def for_repo(self, kind: str, project: str) -> list[Resource]:
        """The preview ApplicationSets whose generator watches ``project`` on ``kind``."""
        return [a for a in self.appsets()
                if any(s.provider == kind and s.project == project
                       for s in source_mod.sources(a.body))]  # fmt: skip

    # -- refresh: the forge's open pull requests against the stored previews -----------------

    def refresh(self, appset: Resource, *, teardowns_only: bool = False) -> list[Action]:
        """The work the forge's open pull requests mean for ``appset`` now (the forge client
        asks with the ETags of its last listing: an unchanged list costs 304s).
        ``teardowns_only``: only the previews whose pull request is gone; nothing stored."""
        spec = appset.spec
        opts = appset_render.Options.of(spec)
        inputs = appset_engine.StoreInputs(self.store, self.settings, self.forges)
        ctx = gen.Context(inputs, opts, appset.namespace)
        actions: list[Action] = []
        kept: set[str] = set()
        try:
            for src in source_mod.sources(appset.body):
                where = f"spec.generators[{src.index}]"
                for item in gen.generate(src.body, ctx, where):
                    number = int(item.params["number"])
                    name = preview_name(appset.name, number)
                    kept.add(name)
                    if teardowns_only:
                        continue
                    template = appset_render.generator_template(spec.get("template") or {},
                                                                item.template)  # fmt: skip
                    try:
                        app = appset_render.application(template, item.params, opts,
                                                        str(spec.get("templatePatch") or ""),
                                                        appset.namespace)  # fmt: skip
                    except ShipwayError as exc:
                        raise InputError(f"ApplicationSet/{appset.name}: {where} pull request "
                                         f"#{number}: {appset_render.describe(exc)}",
                                         subject=appset.key) from None  # fmt: skip
                    actions += self._changed(appset, src, item.params, app, name)
        finally:
            inputs.close()
        for p in store_previews.list_all(self.store, (appset.namespace, appset.name)):
            if p.name not in kept:
                why = "the pull request was closed"
                actions.append(Action("teardown", p.name, _ref(appset), reason=why))
        return actions

    def _changed(self, appset: Resource, src: source_mod.Source, params: dict[str, Any],
                 app: dict[str, Any], name: str) -> list[Action]:  # fmt: skip
        old = store_previews.get(self.store, name)
        at = now()
        sha = str(params["head_sha"])
        gone = runs.get_state(self.store, DELETED_ENGINE, name)
        if old is None and gone is not None and gone[1].get("head_sha") == sha:
            return []  # deleted by hand: back on the next push, as Jenkins X's previews
        if old is not None and old.head_sha == sha and old.phase != "Deleting":
            if old.application != app:  # the set's template changed: the same head again
                store_previews.put(self.store, old.evolve(application=app, phase="Deploying"))
                return [Action("deploy", name, _ref(appset), sha)]
            return []
        base = old or Preview(name, appset.namespace, appset.name, int(params["number"]),
                              src.provider, src.project, src.api, str(params["branch"]),
                              str(params["target_branch"]), sha, created=at)  # fmt: skip
        p = base.evolve(head_sha=sha, branch=str(params["branch"]), application=app,
                        target_branch=str(params["target_branch"]), title=str(params["title"]),
                        author=str(params.get("author") or ""), updated=at)  # fmt: skip
        p = p.evolve(expires=source_mod.expiry(appset.body).deadline(p.created or at, at))
        building = self._pipeline(src, p.target_branch) is not None and self._ci(sha) is None
        p = p.evolve(phase="Building" if building else "Deploying", message="")
        store_previews.put(self.store, p)
        return [Action("deploy", name, _ref(appset), sha)]

    # -- CI: a Pipeline that builds the repository gates the deploy ------------------------

    def _pipeline(self, src: source_mod.Source, base: str) -> Resource | None:
        """The Pipeline that runs pull request CI for the repository into ``base``."""
        for pipe in store_resources.list_kind(self.store, "Pipeline"):
            if base not in ((pipe.spec.get("source") or {}).get("branches") or ["main"]):
                continue
            spec = pipe.spec.get("forge") or {}
            repo = str((pipe.spec.get("source") or {}).get("repoURL") or "")
            project = str(spec.get("project") or forge_mod.project_from_url(repo))
            if spec.get("kind") == src.provider and project == src.project:
                return pipe
        return None

    def _ci(self, sha: str) -> tuple[bool, str] | None:
        """(succeeded, why) of the pull request CI of ``sha``; None while it runs."""
        state = runs.get_state(self.store, CI_ENGINE, sha)
        if state is None:
            return None
        return state[0] == "Succeeded", str(state[1].get("why") or "")

    def ci_finished(
        self, kind: str, project: str, sha: str, ok: bool, why: str = ""
    ) -> list[Action]:
        """Record how the pull request CI of ``sha`` ended; the deploys it releases."""
        runs.put_state(self.store, CI_ENGINE, sha, "Succeeded" if ok else "Failed",
                       {"why": why or ("" if ok else "CI failed")})  # fmt: skip
        out = []
        for appset in self.for_repo(kind, project):
            for p in store_previews.list_all(self.store, (appset.namespace, appset.name)):
                if p.head_sha == sha and p.phase == "Building":
                    out.append(Action("deploy", p.name, _ref(appset), sha))
        return out

    def ci_wanted(self, action: Action) -> tuple[Resource, Preview] | None:
        """The Pipeline whose pull request CI a deploy waits for (phase ``Building``, no
        result for its head yet), with the preview; None when it waits for nothing."""
        p = store_previews.get(self.store, action.preview)
        if action.verb != "deploy" or p is None or p.phase != "Building":
            return None
        appset = self.appset(f"{p.appset_namespace}/{p.appset}")
        src = _source(appset, p) if appset is not None else None
        if p.head_sha != action.head_sha or src is None or self._ci(p.head_sha) is not None:
            return None
        pipe = self._pipeline(src, p.target_branch)
        return (pipe, p) if pipe is not None else None

    # -- units of work -------------------------------------------------------------------

    def run(self, action: Action) -> Preview | None:
        if action.verb == "teardown":
            self.teardown(action.preview, action.reason)
            return None
        return self.deploy(action.preview, action.head_sha)

    def deploy(self, name: str, head_sha: str = "") -> Preview | None:
        p = store_previews.get(self.store, name)
        if p is None or (head_sha and p.head_sha != head_sha):
            return p  # torn down, or a newer push took over: that action will run
        appset = self.appset(f"{p.appset_namespace}/{p.appset}")
        if appset is None:
            self.teardown(name, "its ApplicationSet was deleted")
            return None
        src = _source(appset, p)
        if src is None:
            self.teardown(name, "its generator no longer watches this repository")
            return None
        token = self.token(appset, src)
        if self._pipeline(src, p.target_branch) is not None:
            ci = self._ci(p.head_sha)
            if ci is None:
                p = p.evolve(phase="Building", message="")
                return self._save(p, token, "pending", f"building {p.head_sha[:7]}")
            if not ci[0]:
                p = p.evolve(phase="Failed", message=ci[1])
                self._warn(p, "PreviewFailed", ci[1])
                return self._save(p, token, "failure", ci[1])
        first = not p.deployed_sha  # never live yet: its Applications get PreviewCreated
        p = self._save(p.evolve(phase="Deploying", message=""), token, "pending",
                       f"deploying {p.head_sha[:7]}")  # fmt: skip
        try:
            p = self._deploy(appset, src, p)
        except ShipwayError as exc:
            log.warning("preview %s failed: %s", name, exc)
            p = store_previews.get(self.store, name) or p  # with the Applications it made
            p = p.evolve(phase="Failed", message=str(exc))
            self._warn(p, "PreviewFailed", str(exc))
            return self._save(p, token, "failure", str(exc))
        self._note(p, "PreviewReady", f"{p.head_sha[:12]} at {p.preview_url or '-'}")
        if first:
            self._on_apps(p, emitters.preview_created, p.preview_url or p.name)
        return self._save(p, token, "success", f"preview ready for {p.head_sha[:7]}")

    def _save(self, p: Preview, token: str, state: str, text: str) -> Preview:
        p = report.report(self.store, p, self.client(p, token), state=state, description=text)
        return store_previews.put(self.store, p)

    def _deploy(self, appset: Resource, src: source_mod.Source, p: Preview) -> Preview:
        body = copy.deepcopy(p.application)
        meta = body["metadata"]
        meta.setdefault("annotations", {})[ANNOTATION] = p.name
        meta.setdefault("labels", {})[appset_plan.OWNER_LABEL] = appset.name
        meta["ownerReferences"] = [appset_plan.owner_ref(appset)]
        dest = body.setdefault("spec", {}).setdefault("destination", {})
        dest["namespace"] = str(dest.get("namespace") or p.name)
        sync = body["spec"].setdefault("syncPolicy", {})  # a namespace of its own, made for it
        options = sync.setdefault("syncOptions", [])
        if not any(str(o).startswith("CreateNamespace=") for o in options):
            options.append("CreateNamespace=true")
        self._check_namespace(p, str(dest["namespace"]))
        app = Resource("argoproj.io/v1alpha1", "Application", str(meta["name"]),
                       str(meta.get("namespace") or namespaces.ARGOCD), body,
                       source=f"ApplicationSet/{appset.name}")  # fmt: skip
        instance = namespaces.instance(app.namespace, app.name)
        stale = [a for a in p.applications if a != instance]
        store_resources.apply(self.store, [app])
        p = p.evolve(applications=[instance], namespace=str(dest["namespace"]))
        store_previews.put(self.store, p)
        for old in stale:  # the template renamed it: the old one goes
            self._delete_app(old)
        result = deploy_engine.reconcile(self.store, instance, settings=self.settings)
        if not result.ok and self._lost_ports(p, result.message):  # once, on new ports
            result = deploy_engine.reconcile(self.store, instance, settings=self.settings)
        if not result.ok:
            raise ClusterError(f"sync failed: {result.message}", subject=f"Preview/{p.name}")
        health = deploy_engine.wait_healthy(self.store, instance, self.health_timeout,
                                            settings=self.settings)  # fmt: skip
        if health != "Healthy":
            raise ClusterError(f"not healthy after sync: {health}", subject=f"Preview/{p.name}")
        stored = store_resources.get(self.store, "Application", app.name, app.namespace)
        images = list((stored.status.get("summary") or {}).get("images") or [])
        url = place.url(self.store, self.settings, p.name, instance)
        return p.evolve(phase="Ready", message="", preview_url=url, image=", ".join(images),
                        deployed_sha=p.head_sha)  # fmt: skip

    def _lost_ports(self, p: Preview, message: str) -> bool:
        """Free the preview's ports another process bound between allocation and play."""
        if "address already in use" not in message and "is already held by" not in message:
            return False  # podman's own words, or the target's check naming the holder
        lost = [port for port in store_previews.ports_of(self.store, p.name).values()
                if f":{port}:" in message or f":{port} " in message]  # fmt: skip
        if not lost:
            return False
        log.info("preview %s: port(s) %s taken meanwhile, allocating anew", p.name, lost)
        store_previews.release(self.store, p.name, lost)
        return True

    def _check_namespace(self, p: Preview, ns: str) -> None:
        """A namespace per preview: refuse one that is no DNS label (a raw branch name) or that
        another preview (or application) uses."""
        if dns_label(ns) != ns:
            raise InputError(f"destination.namespace {ns!r} is not a DNS label (RFC 1123: "
                             "lower case letters, digits and '-', at most 63): the template "
                             "should use {{branch_slug}} or {{number}}, not {{branch}}",
                             subject=f"Preview/{p.name}")  # fmt: skip
        for other in store_previews.list_all(self.store):
            if other.name != p.name and other.namespace == ns:
                raise InputError(f"namespace {ns!r} is preview {other.name}'s: the template's "
                                 "destination.namespace must differ per pull request "
                                 "(use {{number}} or {{branch_slug}})",
                                 subject=f"Preview/{p.name}")  # fmt: skip
        mine = set(p.applications)
        for app in store_resources.list_kind(self.store, "Application"):
            dest = (app.spec.get("destination") or {}).get("namespace")
            inst = namespaces.instance(app.namespace, app.name)
            if dest == ns and inst not in mine and ANNOTATION not in app.annotations:
                raise InputError(f"namespace {ns!r} belongs to Application {inst}",
                                 subject=f"Preview/{p.name}")  # fmt: skip

    def _delete_app(self, instance: str, namespace: str = "") -> None:
        where = place.target(self.store, self.settings, instance)
        with contextlib.suppress(NotFoundError):
            history.delete_app(self.store, instance, settings=self.settings)
        place.delete_namespace(where, instance, namespace)
        # a play that failed (an image that never came) leaves a created pod the app's live
        # state does not list: the preview's pods on this podman host go too
        deploy_engine.local_target(self.settings).clean(instance)

    def delete(self, name: str) -> Preview:
        """Tear a preview down now (``shipway preview delete``); a push brings it back."""
        p = store_previews.get(self.store, name)
        if p is None:
            raise NotFoundError(f"preview {name!r} not found", subject=f"Preview/{name}")
        runs.put_state(self.store, DELETED_ENGINE, name, "Deleted", {"head_sha": p.head_sha})
        self.teardown(name, "deleted with shipway preview delete")
        return p

    def teardown(self, name: str, reason: str) -> None:
        p = store_previews.get(self.store, name)
        if p is None:
            return
        p = p.evolve(phase="Deleting", message=reason)
        store_previews.put(self.store, p)
        errors = []
        for app in p.applications:
            try:
                self._delete_app(app, p.namespace)
            except ShipwayError as exc:
                errors.append(f"{app}: {exc}")
        if errors:  # kept Deleting: the next pass tries again
            self._warn(p, "PreviewTeardownFailed", "; ".join(errors))
            return
        store_previews.remove(self.store, name)
        token = os.environ.get("SHIPWAY_FORGE_TOKEN", "")
        appset = self.appset(f"{p.appset_namespace}/{p.appset}")
        src = next((s for s in source_mod.sources(appset.body) if s.project == p.project),
                   None) if appset is not None else None  # fmt: skip
        if appset is not None and src is not None:
            with contextlib.suppress(ShipwayError):
                token = self.token(appset, src)
        report.report(self.store, p, self.client(p, token), state="success", description=reason,
                      status=False)  # fmt: skip
        self._note(p, "PreviewDeleted", reason)
        self._on_apps(p, emitters.preview_deleted, reason)

    def _on_apps(self, p: Preview, emit: Callable[..., Any], message: str) -> None:
        """``PreviewCreated``/``PreviewDeleted`` on each of the preview's Applications (whose
        annotations, from the ApplicationSet's template, subscribe to them)."""
        for instance in p.applications:
            ns, name = namespaces.split_app(instance)
            emit(self.store, name, ns, message)

    def resume(self) -> list[Action]:
        """After a restart: finish interrupted deploys and teardowns (refreshing every
        ApplicationSet with ``force`` then finds the pull requests closed meanwhile)."""
        out = []
        for p in store_previews.list_all(self.store):
            ref = f"{p.appset_namespace}/{p.appset}"
            if p.phase == "Deleting":
                out.append(Action("teardown", p.name, ref, reason=p.message or "resumed"))
            elif p.phase in ("Deploying", "Building"):
                out.append(Action("deploy", p.name, ref, p.head_sha))
        return out

    # -- expiry ------------------------------------------------------------------------------

    def expired(self, at: dt.datetime | None = None) -> list[Action]:
        at = at or now()
        out = []
        for appset in self.appsets():
            rule = source_mod.expiry(appset.body)
            for p in store_previews.list_all(self.store, (appset.namespace, appset.name)):
                why = rule.why(p, at)
                if why:
                    out.append(Action("teardown", p.name, _ref(appset), reason=f"expired: {why}"))
        known = {(a.namespace, a.name) for a in self.appsets()}
        for p in store_previews.list_all(self.store):
            if (p.appset_namespace, p.appset) not in known:
                out.append(Action("teardown", p.name, reason="its ApplicationSet was deleted"))
        return out

    def due(self, last: dict[str, float], at: float) -> list[Resource]:
        """Preview sets whose ``requeueAfterSeconds`` (Argo CD's default: 30 minutes) has
        passed since ``last[namespace/name]`` (monotonic seconds); never polled: due."""
        out = []
        for appset in self.appsets():
            wait = min((s.requeue_seconds for s in source_mod.sources(appset.body)),
                       default=source_mod.REQUEUE_DEFAULT)  # fmt: skip
            seen = last.get(_ref(appset))
            if seen is None or at - seen >= wait:
                out.append(appset)
        return out

    def _note(self, p: Preview, reason: str, message: str) -> None:
        store_events.emit(self.store, ev.ObjectRef("ApplicationSet", p.appset, p.appset_namespace),
                          reason, f"{p.name}: {message}", source="previews")  # fmt: skip

    def _warn(self, p: Preview, reason: str, message: str) -> None:
        store_events.emit(self.store, ev.ObjectRef("ApplicationSet", p.appset, p.appset_namespace),
                          reason, f"{p.name}: {message}", type=ev.WARNING,
                          source="previews")  # fmt: skip


def run_all(engine: Previews, actions: list[Action],
            on_error: Callable[[Action, Exception], None] | None = None) -> None:  # fmt: skip
    """Run actions one after another; one failing never stops the others."""
    for a in actions:
        try:
            engine.run(a)
        except ShipwayError as exc:
            log.error("preview %s %s failed: %s", a.verb, a.preview, exc)
            if on_error is not None:
                on_error(a, exc)


def describe(p: Preview) -> dict[str, Any]:
    return p.to_dict()
