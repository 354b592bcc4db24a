"""What a decision now looks up once instead of per use gives what the per-use lookups gave: the
reply's times in the current time zone, the stages' titles in the reader's language, the first
read's statement, the Idempotency-Key's digests and risk control's refund interval."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import DurationField
from django.utils import timezone, translation

from common import idempotency
from lending import pipeline
from lending.api import applications


def test_a_time_written_with_the_zone_given_is_the_one_written_with_the_current_zone():
    moments = [
        dt.datetime(2026, 12, 7, 3, 4, 5, 678901, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 1, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
    ]
    for name in ("Asia/Shanghai", "UTC", "America/New_York"):
        with timezone.override(ZoneInfo(name)):
            zone = timezone.get_current_timezone()
            for moment in moments:
                assert applications._at(moment, zone) == applications._at(moment)
    assert applications._at(None, timezone.get_current_timezone()) is None


def test_the_reply_writes_utc_as_z_with_the_zone_given():
    with timezone.override(dt.UTC):
        at = applications._at(
            dt.datetime(2026, 12, 7, 3, 4, 5, tzinfo=dt.UTC), timezone.get_current_timezone()
        )
    assert at == "2026-12-07T03:04:05Z"


def test_a_title_asked_with_the_language_is_the_one_asked_without():
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for name in ("lending.stages.eligibility", "riskcontrol.stages.Blacklist", "lending.stages.gone"):
                assert pipeline.stage_title(name, translation.get_language()) == pipeline.stage_title(name)


def test_the_first_reads_statement_is_made_once_and_for_this_database():
    made = applications._submission_sql()
    assert applications._submission_sql() is made
    assert ("FOR NO KEY UPDATE OF m" in made) == connection.features.has_select_for_update_of
    assert applications._submission_sql_for(not connection.features.has_select_for_update_of) != made


def test_a_digest_is_the_one_of_the_canonical_json_dump():
    class Number:
        pass

    for value in ({"b": [1, "二"], "a": {"z": None, "y": 1.5}}, "text", 12, None, [], {"x": "10.00"}):
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), cls=idempotency._RequestEncoder)
        assert idempotency._digest(value) == idempotency.hashlib.sha256(canonical.encode()).hexdigest()
    # The encoder's own refusals are unchanged.
    try:
        idempotency._digest({"x": Number()})
    except TypeError:
        pass
    else:
        raise AssertionError("an object JSON cannot write was digested")


def test_the_refund_window_goes_to_the_database_as_a_fresh_duration_field_gives_it():
    from riskcontrol import stages

    for hours in (0, 1, 72):
        value = dt.timedelta(hours=hours)
        assert stages._DURATION.get_db_prep_value(value, connection) == DurationField().get_db_prep_value(
            value, connection
        )
