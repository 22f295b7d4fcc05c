"""Approving Freight for a Stage (``kargo approve``), with shipway's approval policies.

``approve(store, project, freight, stage, approver)``: without a policy one
approval by anyone sets the Freight's ``approvedFor[stage]``, as Kargo does.
A Stage may carry a policy (the documented shipway extension, Stage
annotations read by ``gates.ApprovalPolicy``): ``shipway.dev/approvals-required``
(how many distinct approvers), ``shipway.dev/approver-roles`` (comma-separated
RBAC roles, at least one of which the approver must hold, from
``argocd-rbac-cm`` ``g`` lines and ``shipway account --role``) and
``shipway.dev/allow-self-approval`` (default false: the authors and
committers of the Freight's commits and the people who promoted it upstream
may not approve it). Each approval is kept in the Freight's status
(``approvals[stage]``); ``approvedFor`` is written once enough were given.
A refused approval is ``PermissionDeniedError`` with every reason. Touches
the store only.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipway.auth import policy as auth_policy
from shipway.auth import rbac
from shipway.model.errors import InputError, NotFoundError, PermissionDeniedError
from shipway.promote import gates, records
from shipway.promote import promotion as pm
from shipway.store import accounts as store_accounts
from shipway.store import resources as store_resources
from shipway.store.db import Store


@dataclass
class Approved:
    freight: str
    stage: str
    given: int
    required: int

    @property
    def done(self) -> bool:
        return self.given >= self.required


def roles_of(store: Store, user: str) -> set[str]:
    """The RBAC roles ``user`` holds (``g`` lines, transitively, and the account's role)."""
    try:
        pol = auth_policy.stored_policy(store)
    except InputError:
        pol = rbac.Policy()
    edges = [(r[1], r[2]) for r in pol.rules if r and r[0] == "g" and len(r) >= 3]
    for acc in store_accounts.list_accounts(store):
        if acc.name == user and acc.role:
            edges.append((user, rbac.role_name(acc.role)))
    roles: set[str] = set()
    frontier = {user}
    while frontier:
        nxt = {r for s, r in edges if s in frontier} - roles
        roles |= nxt
        frontier = nxt
    return roles


def approve(store: Store, project: str, freight: str, stage: str, approver: str) -> Approved:
    stage_res = store_resources.get(store, "Stage", stage, project)
    found = pm.find_freight(store_resources.list_kind(store, "Freight", project), freight)
    if found is None:
        raise NotFoundError(f"Freight {freight!r} not found in project {project!r}",
                            subject=f"Freight/{project}/{freight}")  # fmt: skip
    notes = (stage_res.body.get("metadata") or {}).get("annotations") or {}
    try:
        policy = gates.ApprovalPolicy.from_annotations(dict(notes))
    except ValueError as exc:
        raise InputError(str(exc), subject=f"Stage/{project}/{stage}") from None
    status = found.status or {}
    if stage in (status.get("approvedFor") or {}):
        given = len((status.get("approvals") or {}).get(stage) or []) or 1
        return Approved(found.name, stage, given, given)
    actors = [str(e.get("actor") or "") for e in records.journey(store, project, found.name)
              if e.get("kind") == "promotion" and e.get("stage") != stage
              and not str(e.get("actor") or "").startswith("shipway:")]  # fmt: skip
    earlier = [str(a.get("approver")) for a in (status.get("approvals") or {}).get(stage) or []]
    problems = gates.approval_problems(policy, approver, roles_of(store, approver),
                                       gates.authors(found.body, actors), earlier)  # fmt: skip
    if problems:
        raise PermissionDeniedError(f"approval of Freight {found.name} for stage {stage} "
                                    "refused: " + "; ".join(problems),
                                    subject=f"Freight/{project}/{found.name}")  # fmt: skip
    required = policy.required if policy else 1
    new = records.add_approval(store, project, found.name, stage, approver, required) or {}
    given = len((new.get("approvals") or {}).get(stage) or [])
    done = given >= required
    records.record(store, project, found.name,
                   {"stage": stage, "kind": "approval", "actor": approver,
                    "phase": "Approved" if done else "Partial", "given": given,
                    "required": required},
                   reason="FreightApproved" if done else "FreightApprovalAdded",
                   message=f"Freight {found.name} approved for stage {stage} by {approver}"
                           + ("" if done else f" ({given} of {required} approvals)"))  # fmt: skip
    return Approved(found.name, stage, given, required)
