"""Kyverno ``ClusterPolicy`` and ``Policy`` (``kyverno.io/v1``, ``v2beta1``): ``verifyImages``.

What shipway enforces of a Kyverno policy: rules with ``verifyImages`` (image
signatures and attestations checked with public keys, before a sync, a
promotion or a preview deploys the image). Read as Kyverno defines them:

- ``spec.validationFailureAction`` (``Enforce`` or ``Audit``; Kyverno's default
  ``Audit``; the old lower-case spellings too), ``validationFailureActionOverrides``
  (``action`` in the listed ``namespaces``, globs, by the workload's namespace) and
  per-rule ``verifyImages[].failureAction`` which overrides both;
- ``rules[].match`` / ``exclude`` (``any``/``all`` of ``resources.kinds``,
  ``names``, ``namespaces``, or the older bare ``resources``);
- ``verifyImages[]``: ``imageReferences`` and ``skipImageReferences`` (globs),
  ``type: Cosign``, ``attestors[]`` (``count``; ``entries[].keys.publicKeys``),
  ``attestations[]`` (``type`` or the older ``predicateType``, their own
  ``attestors``, ``conditions`` with ``all``/``any`` of ``key``/``operator``/
  ``value``), ``required``, ``verifyDigest``, ``mutateDigest``, ``useCache``;
``entries[].annotations`` must be in a verified signature's ``optional`` fields
(``cosign sign -a key=value``).

What shipway does not do is refused at apply, naming it: keyless attestors
(``keyless``, ``certificates``), KMS and Secret key references, Notary,
``repository`` (signatures in another repository), and
rules that ``validate``, ``mutate`` or ``generate`` (write those as conftest
policies). What Kyverno's own policy webhook refuses is refused too
(``admission_problems``): a ``verifyImages`` entry whose failure action is
``Audit`` with ``mutateDigest`` true (its default), since Kyverno 1.10. Spec
fields that only steer Kyverno's webhooks and background scans
(``emitWarning``, ``schemaValidation``, ``applyRules``, ``generateExisting``...)
are read and have no effect here. Pure: no I/O.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

OPERATORS = (
    "Equals",
    "NotEquals",
    "In",
    "AnyIn",
    "AllIn",
    "NotIn",
    "AnyNotIn",
    "AllNotIn",
    "GreaterThan",
    "GreaterThanOrEquals",
    "LessThan",
    "LessThanOrEquals",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Keys(_Strict):
    public_keys: str = Field(alias="publicKeys", min_length=1)
    signature_algorithm: Literal["sha256"] = Field(default="sha256", alias="signatureAlgorithm")
    rekor: dict[str, Any] | None = None
    ctlog: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in ("kms", "secret"):
                if key in value:
                    raise ValueError(f"keys.{key} is not served: give the PEM in keys.publicKeys")
        return value


class Entry(_Strict):
    keys: Keys | None = None
    attestor: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None
    repository: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in ("keyless", "certificates"):
                if key in value:
                    raise ValueError(
                        f"{key} attestors are not served (no Fulcio or Rekor here): use keys"
                    )
        return value

    @model_validator(mode="after")
    def _one(self) -> Entry:
        if self.keys is None:
            raise ValueError("an attestor entry needs keys.publicKeys")
        if self.attestor is not None:
            raise ValueError("nested attestors are not served")
        if self.repository:
            raise ValueError(_NO_REPOSITORY)
        return self


_NO_REPOSITORY = (
    "repository (signatures kept in another repository) is not served: shipway reads them "
    "beside the image, as cosign writes them without COSIGN_REPOSITORY"
)


class Attestor(_Strict):
    count: int | None = Field(default=None, ge=1)
    entries: list[Entry] = Field(min_length=1)


class Condition(_Strict):
    key: Any
    operator: Literal[OPERATORS]  # type: ignore[valid-type]
    value: Any = None
    message: str | None = None


class ConditionBlock(_Strict):
    all: list[Condition] = Field(default_factory=list)
    any: list[Condition] = Field(default_factory=list)


class Attestation(_Strict):
    type: str | None = None
    predicate_type: str | None = Field(default=None, alias="predicateType")
    attestors: list[Attestor] = Field(default_factory=list)
    conditions: list[ConditionBlock] = Field(default_factory=list)
    name: str | None = None

    @model_validator(mode="after")
    def _typed(self) -> Attestation:
        if not (self.type or self.predicate_type):
            raise ValueError("an attestation needs type (or the older predicateType)")
        return self

    @property
    def kind(self) -> str:
        return str(self.type or self.predicate_type)


class VerifyImages(_Strict):
    image_references: list[str] = Field(default_factory=list, alias="imageReferences")
    skip_image_references: list[str] = Field(default_factory=list, alias="skipImageReferences")
    type: Literal["Cosign"] = "Cosign"
    attestors: list[Attestor] = Field(default_factory=list)
    attestations: list[Attestation] = Field(default_factory=list)
    required: bool = True
    verify_digest: bool = Field(default=True, alias="verifyDigest")
    mutate_digest: bool = Field(default=True, alias="mutateDigest")
    use_cache: bool = Field(default=True, alias="useCache")
    failure_action: Literal["Enforce", "Audit"] | None = Field(default=None, alias="failureAction")
    repository: str | None = None
    image_registry_credentials: dict[str, Any] | None = Field(
        default=None, alias="imageRegistryCredentials"
    )

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, value: Any) -> Any:
        if isinstance(value, dict) and "image" in value:  # Kyverno < 1.7: a single image
            value = {**value, "imageReferences": [value["image"]]}
            value.pop("image")
        if isinstance(value, dict) and value.get("type") == "Notary":
            raise ValueError("type Notary is not served (cosign signatures only)")
        return value

    @model_validator(mode="after")
    def _refs(self) -> VerifyImages:
        if not self.image_references:
            raise ValueError("verifyImages needs imageReferences")
        if self.repository:
            raise ValueError(_NO_REPOSITORY)
        return self


class ResourceFilter(_Strict):
    kinds: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    name: str | None = None
    namespaces: list[str] = Field(default_factory=list)
    selector: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None
    operations: list[str] = Field(default_factory=list)


class Filter(_Strict):
    resources: ResourceFilter | None = None
    subjects: list[dict[str, Any]] | None = None
    roles: list[str] | None = None
    cluster_roles: list[str] | None = Field(default=None, alias="clusterRoles")


class Match(_Strict):
    any: list[Filter] = Field(default_factory=list)
    all: list[Filter] = Field(default_factory=list)
    resources: ResourceFilter | None = None


class Rule(_Strict):
    name: str = Field(min_length=1)
    match: Match = Field(default_factory=Match)
    exclude: Match | None = None
    verify_images: list[VerifyImages] = Field(default_factory=list, alias="verifyImages")
    context: list[dict[str, Any]] | None = None
    preconditions: dict[str, Any] | list[Any] | None = None
    skip_background_requests: bool | None = Field(default=None, alias="skipBackgroundRequests")

    @model_validator(mode="before")
    @classmethod
    def _only_verify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in ("validate", "mutate", "generate"):
                if key in value:
                    raise ValueError(
                        f"rule {value.get('name', '?')!r}: {key} rules are not served by "
                        "shipway (only verifyImages; write manifest checks as conftest "
                        "policies)"
                    )
        return value

    @model_validator(mode="after")
    def _has_verify(self) -> Rule:
        if not self.verify_images:
            raise ValueError(f"rule {self.name!r} has no verifyImages")
        return self


class ActionOverride(_Strict):
    """``validationFailureActionOverrides[]``: another action in some namespaces."""

    action: str
    namespaces: list[str] = Field(default_factory=list)
    namespace_selector: dict[str, Any] | None = Field(default=None, alias="namespaceSelector")

    @model_validator(mode="after")
    def _valid(self) -> ActionOverride:
        fixed = {"enforce": "Enforce", "audit": "Audit"}.get(self.action.lower())
        if fixed is None:
            raise ValueError(f"action must be Enforce or Audit, not {self.action!r}")
        if self.namespace_selector is not None:
            raise ValueError(
                "namespaceSelector is not served (shipway's namespaces carry no labels): "
                "list the namespaces"
            )
        self.action = fixed
        return self


class KyvernoPolicySpec(_Strict):
    """``spec`` of a Kyverno ClusterPolicy or Policy."""

    validation_failure_action: str = Field(default="Audit", alias="validationFailureAction")
    validation_failure_action_overrides: list[ActionOverride] = Field(
        default_factory=list, alias="validationFailureActionOverrides"
    )
    background: bool = True
    admission: bool = True
    failure_policy: Literal["Fail", "Ignore"] = Field(default="Fail", alias="failurePolicy")
    webhook_timeout_seconds: int | None = Field(default=None, alias="webhookTimeoutSeconds")
    webhook_configuration: dict[str, Any] | None = Field(default=None, alias="webhookConfiguration")
    use_server_side_apply: bool | None = Field(default=None, alias="useServerSideApply")
    # Kyverno's other spec fields: about its webhooks, reports and background work
    apply_rules: Literal["All", "One"] = Field(default="All", alias="applyRules")
    emit_warning: bool = Field(default=False, alias="emitWarning")
    schema_validation: bool | None = Field(default=None, alias="schemaValidation")
    generate_existing: bool | None = Field(default=None, alias="generateExisting")
    generate_existing_on_policy_update: bool | None = Field(
        default=None, alias="generateExistingOnPolicyUpdate"
    )
    mutate_existing_on_policy_update: bool | None = Field(
        default=None, alias="mutateExistingOnPolicyUpdate"
    )
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _action(self) -> KyvernoPolicySpec:
        action = self.validation_failure_action
        fixed = {"enforce": "Enforce", "audit": "Audit"}.get(action.lower())
        if fixed is None:
            raise ValueError(f"validationFailureAction must be Enforce or Audit, not {action!r}")
        self.validation_failure_action = fixed
        return self

    def action_of(self, verify: VerifyImages, namespace: str | None = None) -> str:
        """The entry's ``failureAction``, else the first override whose ``namespaces``
        (globs) hold ``namespace``, else ``validationFailureAction``."""
        if verify.failure_action:
            return verify.failure_action
        if namespace is not None:
            for o in self.validation_failure_action_overrides:
                if any(fnmatch.fnmatchcase(namespace, n) for n in o.namespaces):
                    return o.action
        return self.validation_failure_action


AUDIT_DIGEST = "mutateDigest must be set to false for 'Audit' failure action"


def admission_problems(spec: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """What Kyverno's policy webhook refuses in a spec the schema accepted, each with its
    path from ``spec``: an ``Audit`` entry with ``mutateDigest`` true (written or default).

    The path is the ``mutateDigest`` field where it is written, else its entry."""
    try:
        parsed = KyvernoPolicySpec.model_validate(spec)
    except ValueError:
        return []  # the schema's own errors are reported instead
    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, rule in enumerate(parsed.rules):
        for j, verify in enumerate(rule.verify_images):
            if not verify.mutate_digest or parsed.action_of(verify) != "Audit":
                continue
            raw = spec["rules"][i]["verifyImages"][j]
            if "mutateDigest" in raw:
                out.append((("rules", i, "verifyImages", j, "mutateDigest"), AUDIT_DIGEST))
            else:
                out.append(
                    (
                        ("rules", i, "verifyImages", j),
                        f"{AUDIT_DIGEST} (mutateDigest is true by default: write "
                        "mutateDigest: false, or failureAction: Enforce)",
                    )
                )
    return out
