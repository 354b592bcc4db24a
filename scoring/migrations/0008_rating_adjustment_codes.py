"""Rating adjustments keyed by an industry or a region follow the merchants' categories and
regions to their codes (merchants 0015): an adjustment keyed 浙江 would otherwise stop matching
the merchants now stored as zhejiang. Keys that are not one of those words stay as they are."""

import importlib

from django.db import migrations

_codes = importlib.import_module("merchants.migrations.0015_category_region_codes")


def _recode(apps, categories, regions):
    adjustment = apps.get_model("scoring", "RatingAdjustment")
    for dimension, table in (("industry", categories), ("region", regions)):
        for old, new in table.items():
            if adjustment.objects.filter(dimension=dimension, key=new).exists():
                continue  # both spellings kept by hand: leave them for an officer to merge
            adjustment.objects.filter(dimension=dimension, key=old).update(key=new)


def to_codes(apps, schema_editor):
    _recode(apps, _codes.CATEGORIES, _codes.REGIONS)


def to_words(apps, schema_editor):
    _recode(
        apps,
        {v: k for k, v in _codes.CATEGORIES.items()},
        {v: k for k, v in _codes.REGIONS.items()},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0007_english_labels"),
        ("merchants", "0015_category_region_codes"),
    ]

    operations = [migrations.RunPython(to_codes, to_words)]
