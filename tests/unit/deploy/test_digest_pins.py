"""mutateDigest pins: Kyverno's form, which containers change, and re-resolving recorded tags."""

from __future__ import annotations

from typing import Any

from shipway.deploy import digest_pins
from shipway.model.errors import RegistryError
from shipway.security.policy import imagegate, workloads

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def _cronjob(*images: str) -> dict[str, Any]:
    containers = [{"name": f"c{i}", "image": im} for i, im in enumerate(images)]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {"initContainers": containers[:1], "containers": containers[1:]}
                    }
                }
            }
        },
    }


def test_digest_form_is_kyvernos_registry_repo_tag_at_digest() -> None:
    assert workloads.digest_form("nginx", D1) == f"docker.io/library/nginx:latest@{D1}"
    assert workloads.digest_form("reg.local:5000/a/b:v1", D1) == f"reg.local:5000/a/b:v1@{D1}"


def test_pins_rewrite_only_the_named_images_and_copy() -> None:
    obj = _cronjob("reg.local/init:1", "reg.local/app:2", "reg.local/side:3")
    pinned = digest_pins.apply([obj], {"reg.local/app:2": f"reg.local/app:2@{D1}"})[0]
    assert workloads.images(pinned) == [
        "reg.local/init:1",
        f"reg.local/app:2@{D1}",
        "reg.local/side:3",
    ]
    assert workloads.images(obj)[1] == "reg.local/app:2", "the rendered object is left alone"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    assert digest_pins.apply([cm], {"reg.local/app:2": "y"})[0] is cm


def test_repin_replaces_an_old_pin_and_drops_one_no_rule_asks_for() -> None:
    written = _cronjob("reg.local/init:1", "reg.local/app:2")
    compared = digest_pins.apply([written], {"reg.local/app:2": f"reg.local/app:2@{D1}"})[0]
    again = digest_pins.repin(compared, written, {"reg.local/app:2": f"reg.local/app:2@{D2}"})
    assert workloads.images(again)[1] == f"reg.local/app:2@{D2}"
    assert workloads.images(digest_pins.repin(compared, written, {}))[1] == "reg.local/app:2"
    same = digest_pins.repin(compared, written, {"reg.local/app:2": f"reg.local/app:2@{D1}"})
    assert same is compared


def test_current_resolves_recorded_tags_and_keeps_the_record_when_unreachable() -> None:
    record = {"reg.local/app:2": D1, "reg.local/gone:1": D1}

    def moved(image: str) -> str:
        return D2

    def down(image: str) -> str:
        raise RegistryError("connection refused", subject=image)

    def gone(image: str) -> None:
        return None

    images = {"reg.local/app:2", "reg.local/other:1"}
    now = digest_pins.current(record, images, moved)
    assert now.pins == {"reg.local/app:2": f"reg.local/app:2@{D2}"}
    assert now.kept == {}
    assert digest_pins.unchanged(now.pins, [], moved)
    assert not digest_pins.unchanged(now.pins, [], lambda image: D1), "the tag moved back"

    for resolve, why in ((down, "connection refused"), (gone, "the tag is not in the registry")):
        kept = digest_pins.current(record, images, resolve)
        assert kept.pins == {"reg.local/app:2": f"reg.local/app:2@{D1}"}, "what was deployed"
        assert kept.kept == {"reg.local/app:2": why}
        (message,) = digest_pins.warnings(kept, record)
        assert "reg.local/app:2" in message and why in message and D1 in message
        assert not digest_pins.unchanged(now.pins, [], resolve), "it failed: compare again"
        assert digest_pins.unchanged(kept.pins, [message], resolve), "failing the same way"
        assert not digest_pins.unchanged(kept.pins, [message], lambda image: D1), "it is back"
        assert not digest_pins.unchanged(kept.pins, [message], moved)


def test_gate_checks_become_pins_and_the_status_record() -> None:
    def check(image: str, deployed: str) -> imagegate.ImageCheck:
        return imagegate.ImageCheck(
            "p", "r", "Deployment/web", image, D1, "Audit", False, "x", deployed
        )

    pins = digest_pins.from_gate([check("a:1", f"a:1@{D1}"), check(f"b@{D1}", "")])
    assert pins == {"a:1": f"a:1@{D1}"}
    assert digest_pins.record_of(pins) == {"a:1": D1}
    assert digest_pins.recorded({"imageDigests": {"a:1": D1}}) == {"a:1": D1}
    assert digest_pins.recorded({}) == {}
