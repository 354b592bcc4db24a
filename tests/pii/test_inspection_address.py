"""A field inspection's address (usually the owner's): sealed in its column, masked on the case
page the officers read, in clear only for the inspector who goes there."""

import pytest
from django.db import connection

from lending.models import Application, FieldInspection
from tests.lending.test_applications import waiting, world  # noqa: F401 (the world fixture)
from tests.lending.test_workbench import (  # noqa: F401 (fixtures)
    case,
    case_url,
    clients,
    inspector,
    officer,
    post,
)

pytestmark = pytest.mark.django_db
ADDRESS = "宁波市鄞州区天童南路588号仓库"


def test_the_inspection_address_is_sealed_and_masked_for_officers(case, clients):  # noqa: F811
    client = clients(officer("o1"))
    own = inspector("insp1")
    post(client, case, "claim")
    post(client, case, "decide", outcome="inspect", note="visit the warehouse")
    visit = waiting(Application.objects.get(pk=case.application_id))
    post(client, visit, "claim")
    post(client, visit, "assign", inspector=own.pk, address=ADDRESS)
    inspection = FieldInspection.objects.get(application_id=case.application_id)
    assert inspection.address == ADDRESS
    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM lending_fieldinspection WHERE id = %s", [inspection.pk])
        (stored,) = cursor.fetchone()
    assert ADDRESS not in stored and "宁波" not in stored
    page = client.get(case_url(case.application_id)).content.decode()
    assert ADDRESS not in page and "天童南路" not in page and inspection.address_masked in page
