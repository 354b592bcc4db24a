"""Every merchant's network features at once, and the nightly task that rebuilds the flags."""

import datetime as dt

import pytest

from common.business_date import business_date_set
from riskcontrol.models import NetworkRun, RingFlag
from riskcontrol.network.features import network_features
from riskcontrol.tasks_network import network_build_nightly
from tests.riskcontrol.test_rings import partner_world


@pytest.mark.django_db
def test_features_count_links_identity_groups_and_ring_scores(partner_client):
    _, ids = partner_world(partner_client)

    features = network_features()

    # A member of the four-shop address ring: three shared addresses (and trade with them).
    assert features.of(ids["R2A"])["degree"] == 3
    assert features.of(ids["R2A"])["component_size"] == 4
    assert features.of(ids["R2A"])["ring_score"] > 0
    # Two shops of one owner: one link, a group of two, no ring.
    assert features.of(ids["OWN1"]) == {"degree": 1, "component_size": 2, "ring_score": 0.0}
    # The wholesaler trades with its buyer but shares no identity with it.
    assert features.of(ids["WHOLE"]) == {"degree": 1, "component_size": 1, "ring_score": 0.0}
    assert features.of(ids["H00"]) == {"degree": 0, "component_size": 1, "ring_score": 0.0}
    assert features.of(10**9) == {}


@pytest.mark.django_db
def test_the_nightly_task_rebuilds_todays_flags_once(partner_client):
    partner_world(partner_client)
    business_date_set(on=dt.date(2025, 4, 2))

    first = network_build_nightly.apply().get()
    again = network_build_nightly.apply(kwargs={"on": "2025-04-02"}).get()

    assert len(first) == len(again) == 2
    assert set(NetworkRun.objects.values_list("business_on", flat=True)) == {dt.date(2025, 4, 2)}
    assert RingFlag.objects.filter(run__detector="shared_attributes").count() == 10
