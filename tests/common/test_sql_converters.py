"""common.sql keeps each list of fields' converters per connection, keyed by the fields
themselves (their identities): the same fields give the same converters without working them
out again, another list (or order) its own."""

import pytest
from django.db import connection

from common.sql import _converters
from lending.models import Application, Product


@pytest.mark.django_db
def test_each_list_of_fields_has_its_own_converters_kept():
    rate = Application._meta.get_field("decided_rate")
    code = Product._meta.get_field("code")
    on = Application._meta.get_field("submitted_on")
    first = _converters([rate, code, on])
    assert _converters((rate, code, on)) is first
    assert [position for position, _column, _found in first] == [
        position for position, field in enumerate([rate, code, on]) if _converters([field])
    ]
    swapped = _converters([on, code, rate])
    assert swapped is not first
    assert {position for position, _column, _found in swapped} == {
        2 - position for position, _column, _found in first
    }
    assert connection._fixed_converters[tuple(map(id, (rate, code, on)))][0] == (rate, code, on)
