import datetime as dt

import pytest

from common.business_date import business_date_set, business_date_today
from common.crypto import blind_index, decrypt, encrypt, mask
from common.errors import ApplicationError


def test_encrypted_value_reads_back_and_hides_the_plaintext():
    token = encrypt("330106199001011234")
    assert "330106199001011234" not in token
    assert decrypt(token) == "330106199001011234"


def test_blind_index_matches_the_same_identifier_however_written():
    assert blind_index("6222 0202 0011 2233") == blind_index("6222020200112233")
    assert blind_index("33010619900101123x") == blind_index("33010619900101123X")
    assert blind_index("6222020200112233") != blind_index("6222020200112234")


def test_mask_keeps_only_the_ends():
    assert mask("330106199001011234", keep_start=6, keep_end=4) == "330106********1234"
    assert mask("123") == "***"


@pytest.mark.django_db
def test_business_date_moves_forward_only():
    business_date_set(on=dt.date(2026, 3, 1))
    assert business_date_today() == dt.date(2026, 3, 1)
    business_date_set(on=dt.date(2026, 3, 2))
    with pytest.raises(ApplicationError):
        business_date_set(on=dt.date(2026, 2, 1))
    assert business_date_today() == dt.date(2026, 3, 2)
    business_date_set(on=dt.date(2026, 1, 1), allow_backwards=True)
    assert business_date_today() == dt.date(2026, 1, 1)
