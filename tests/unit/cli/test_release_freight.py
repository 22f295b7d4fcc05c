"""A release record that names its Freight says so in ``release get``, and keeps it in JSON."""

from __future__ import annotations

from shipway.cli.release import timeline
from shipway.model.release import Release


def test_the_timeline_names_the_freight_and_how_to_see_its_journey() -> None:
    link = {"project": "hello", "name": "ee8e" * 10, "alias": "keen-ocelot", "warehouse": "hello"}
    rel = Release(id="r1", app="hello-dev", commit="c" * 40, freight=link)
    assert (
        f"  freight        {'ee8e' * 10} (keen-ocelot) of Warehouse hello/hello: "
        "shipway release get keen-ocelot --project hello"
    ) in timeline(rel).splitlines()
    assert Release.from_dict(rel.to_dict()).freight == link
    assert "freight" not in timeline(Release(id="r2", app="hello-dev", commit="d" * 40))
