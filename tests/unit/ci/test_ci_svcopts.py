"""Docker ``options`` of services and job containers: parsing and the Kubernetes mapping."""

from __future__ import annotations

import pytest

from shipway.ci.plan.svcopts import (
    HealthCheck,
    OptionsError,
    kube_container,
    kube_memory,
    parse_duration,
    parse_options,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("0", 0.0), ("1.5s", 1.5)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10", "s", "1x", "", "10s junk"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(OptionsError):
        parse_duration(text)


def test_health_options_as_github_writes_them() -> None:
    opts = parse_options(
        '--health-cmd "pg_isready -U postgres" --health-interval 10s '
        "--health-timeout=5s --health-retries 5 --health-start-period 1m"
    )
    assert opts.health == HealthCheck("pg_isready -U postgres", 10.0, 5.0, 5, 60.0)
    assert opts.ignored == []


def test_health_defaults_and_disabling() -> None:
    assert parse_options("--health-cmd true").health == HealthCheck("true", 30.0, 30.0, 3, 0.0)
    assert parse_options("--health-cmd none").health is None
    assert parse_options("--health-cmd true --no-healthcheck").health is None
    assert parse_options("").health is None
    with pytest.raises(OptionsError):
        parse_options("--health-cmd true --health-retries many")


def test_env_user_workdir_resources_and_ignored() -> None:
    opts = parse_options(
        "-e A=1 --env B=two -eC=3 -e FROM_HOST -e MISSING --user 1000:1000 -w /srv "
        "--cpus 0.5 -m 1g --privileged --network-alias db --init --label x=y",
        host_env={"FROM_HOST": "h"},
    )
    assert opts.env == {"A": "1", "B": "two", "C": "3", "FROM_HOST": "h"}
    assert (opts.user, opts.workdir, opts.cpus, opts.memory) == ("1000:1000", "/srv", "0.5", "1g")
    assert opts.privileged
    assert opts.ignored == ["-e MISSING (no value here)", "--network-alias", "--init", "--label"]


def test_kube_mapping_of_a_service() -> None:
    opts = parse_options(
        "--health-cmd 'redis-cli ping' --health-interval 2s --health-retries 4 "
        "--entrypoint redis-server -e X=1 --user 999 --workdir /data --cpus 2 --memory 512m "
        "--privileged --shm-size 1g"
    )
    fields, unused = kube_container(opts)
    assert fields == {
        "readinessProbe": {
            "exec": {"command": ["/bin/sh", "-c", "redis-cli ping"]},
            "initialDelaySeconds": 0,
            "periodSeconds": 2,
            "timeoutSeconds": 30,
            "failureThreshold": 4,
            "successThreshold": 1,
        },
        "env": [{"name": "X", "value": "1"}],
        "command": ["redis-server"],
        "workingDir": "/data",
        "securityContext": {"runAsUser": 999, "privileged": True},
        "resources": {"limits": {"cpu": "2000m", "memory": "512Mi"}},
    }
    assert unused == ["--shm-size"]


def test_kube_mapping_of_the_job_container_keeps_its_command() -> None:
    fields, unused = kube_container(parse_options("--entrypoint sh -w /x --user app"), job=True)
    assert fields == {}
    assert unused == ["--entrypoint", "--workdir", "--user (not numeric)"]


@pytest.mark.parametrize(
    ("text", "quantity"),
    [("512m", "512Mi"), ("1g", "1Gi"), ("1048576", "1048576"), ("64kb", "64Ki")],
)
def test_memory_quantities(text: str, quantity: str) -> None:
    assert kube_memory(text) == quantity


def test_bad_resource_values() -> None:
    with pytest.raises(OptionsError):
        parse_options("--memory lots")
    with pytest.raises(OptionsError):
        parse_options("--cpus=-1")
