"""The partner API's key read (merchants.api.auth._key_read, written in SQL) gives what the ORM's
`ApiKey.objects.select_related("partner").filter(prefix=…).first()` gives."""

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from merchants import services
from merchants.api.auth import _key_read
from merchants.models import ApiKey, PartnerPlatform


def _fields(instance: Model) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.mark.django_db
def test_the_key_read_gives_the_orm_s_key_and_partner():
    partner = services.partner_create(code="p1", name="P1", kind=PartnerPlatform.Kind.B2C)
    other = services.partner_create(code="p2", name="P2", kind=PartnerPlatform.Kind.B2C)
    services.api_key_issue(partner=other, name="other")
    key, _raw = services.api_key_issue(partner=partner, name="signed", requires_signature=True)

    by_orm = ApiKey.objects.select_related("partner").filter(prefix=key.prefix).first()
    read = _key_read(key.prefix)

    assert _fields(read) == _fields(by_orm)
    assert read.signing_secret == key.signing_secret and read.signing_secret
    assert _fields(read.partner) == _fields(by_orm.partner)
    assert not read._state.adding and read._state.db == "default"
    with CaptureQueriesContext(connection) as queries:  # the partner came with the key
        assert read.partner.code == "p1"
    assert not queries.captured_queries
    assert _key_read("no-such-prefix") is None
