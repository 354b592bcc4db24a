"""Permission names as the models say them now. Django writes a permission's name once, when it
creates the row ("Can view <verbose_name>", or the name in Meta.permissions), and never again: the
rows created while the models' verbose names were Chinese and English side by side kept those
names after the names became English msgids. `permission_names_refresh` rewrites each name from
its model's current options (a migration's historical ones, or the live ones)."""

from django.apps import apps as global_apps
from django.contrib.auth.management import _get_all_permissions

NAME_MAX = 255  # auth.Permission.name


def permission_names_refresh(apps=None, using: str = "default") -> int:
    """Set every permission's name to the one its model gives it now; returns how many changed.
    Permissions of models no longer known, and rows not yet created, are left alone."""
    registry = apps or global_apps
    permission_model = registry.get_model("auth", "Permission")
    content_type_model = registry.get_model("contenttypes", "ContentType")
    wanted: dict[tuple[str, str, str], str] = {}
    for model in registry.get_models():
        opts = model._meta
        for codename, name in _get_all_permissions(opts):
            wanted[(opts.app_label, opts.model_name, codename)] = str(name)[:NAME_MAX]
    content_types = {
        pk: (app_label, model)
        for pk, app_label, model in content_type_model.objects.using(using).values_list(
            "pk", "app_label", "model"
        )
    }
    changed = []
    for permission in permission_model.objects.using(using).only("pk", "codename", "name", "content_type_id"):
        app_label, model_name = content_types.get(permission.content_type_id, ("", ""))
        name = wanted.get((app_label, model_name, permission.codename))
        if name is not None and name != permission.name:
            permission.name = name
            changed.append(permission)
    permission_model.objects.using(using).bulk_update(changed, ["name"], batch_size=500)
    return len(changed)
