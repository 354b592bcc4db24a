"""Permission rows named while the models' verbose names were Chinese and English side by side
take the models' current names from the data migration (common 0007), which undoes as a no-op."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import connection

from merchants.models import Merchant

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("common.migrations.0007_permission_names_refreshed")


def test_old_bilingual_permission_names_are_renamed_from_the_models():
    view = Permission.objects.get(content_type__app_label="merchants", codename="view_merchant")
    custom = Permission.objects.get(content_type__app_label="riskcontrol", codename="reverse_riskaction")
    untouched = Permission.objects.get(content_type__app_label="auth", codename="view_user")
    Permission.objects.filter(pk=view.pk).update(name="Can view 商户 Merchant")
    Permission.objects.filter(pk=custom.pk).update(name="可撤销风险处置 Can reverse a risk action")

    class Editor:  # what RunPython hands the function: the connection's alias is all it reads
        pass

    editor = Editor()
    editor.connection = connection
    MIGRATION.refresh(apps, editor)

    view.refresh_from_db()
    custom.refresh_from_db()
    assert view.name == f"Can view {Merchant._meta.verbose_name_raw}" == "Can view merchant"
    assert custom.name == "Can reverse a risk action (with a reason)"
    assert Permission.objects.get(pk=untouched.pk).name == untouched.name
    assert not Permission.objects.filter(name__regex=r"[\u4e00-\u9fff]").exists()


def test_the_refresh_is_idempotent_and_undone_as_a_no_op():
    from common.permission_names import permission_names_refresh

    assert permission_names_refresh() == 0  # a fresh database's names are the models' already
    (operation,) = MIGRATION.Migration.operations
    assert operation.reversible and operation.reverse_code is operation.noop
