"""The platform's roles as data: each role is a group of users with exactly these permissions.

A migration creates the groups (riskcontrol/migrations/0001_roles.py, which runs `roles_sync`);
the demo and the administrators only add people to them. A permission is "app_label.codename",
or a pattern over one app's codenames ("lending.view_*", "scoring.*") so that a role that sees
everything of an app keeps seeing it as models are added (a later migration runs `roles_sync`
again to give it the new models' permissions).

`common` imports no other app: permissions are named here as strings and looked up in the
database, never by importing models.
"""

from fnmatch import fnmatchcase

from django.apps import apps as global_apps
from django.utils.translation import gettext_lazy as _

MERCHANT = "merchant"
LOAN_OFFICER = "loan_officer"
INSPECTOR = "inspector"
COLLECTIONS_AGENT = "collections_agent"
RISK_MANAGER = "risk_manager"
FINANCE = "finance"
ADMINISTRATOR = "administrator"

# What an officer looks at to judge a merchant: the shop, its owner and its trading record.
_MERCHANT_FILE = [
    "merchants.view_merchant",
    "merchants.view_merchantstatuschange",
    "merchants.view_owner",
    "merchants.view_order",
    "merchants.view_orderstatuschange",
    "merchants.view_settlement",
    "merchants.view_refund",
    "merchants.view_complaint",
    "merchants.view_rating",
    "merchants.view_declaredfinancials",
    "merchants.view_verification",
    "merchants.view_tradingrelation",
    "merchants.view_questionnaireresponse",
]
_LENDING_BOOK = [
    "lending.view_product",
    "lending.view_creditline",
    "lending.view_creditlinechange",
    "lending.view_loan",
    "lending.view_loanstatuschange",
    "lending.view_installment",
    "lending.view_loanevent",
    "lending.view_contract",
    "lending.view_pledge",
    "lending.view_cobrun",
    "lending.view_cobchunk",
]
_APPLICATIONS = [
    "lending.view_application",
    "lending.view_applicationchange",
    "lending.view_applicationstage",
    "lending.view_applicationdocument",
    "lending.view_videointerview",
    "lending.view_fieldinspection",
]
# The ledger's pages, the trial balance among them (it sits on the accounts' admin).
_LEDGER = ["payments.view_account", "payments.view_journalentry", "payments.view_posting"]

ROLES: dict[str, dict] = {
    MERCHANT: {
        "label": _("Merchant"),
        "staff": False,  # the portal only, never the workbench
        "permissions": [],
    },
    LOAN_OFFICER: {
        "label": _("Loan officer"),
        "staff": True,
        "permissions": [
            *_MERCHANT_FILE,
            *_APPLICATIONS,
            "lending.change_applicationstage",
            "lending.change_videointerview",
            "lending.change_fieldinspection",
            # gives a case's field visit to an inspector (a case sent to inspection waits otherwise)
            "lending.add_fieldinspection",
            "lending.add_applicationdocument",
            *_LENDING_BOOK,
            *_LEDGER,
            "scoring.view_merchantscore",
            "scoring.view_offer",
            "scoring.view_officerfinding",
            "scoring.add_officerfinding",
            "common.view_approvalrequest",
            "merchants.add_portalinvitation",
            "merchants.view_portalinvitation",
            # records the guarantee a member gives (lianbao); ending one is the risk manager's
            "merchants.view_guarantee",
            "merchants.add_guarantee",
            # post-loan monitoring: see warnings, levels and actions; reverse an action
            "riskcontrol.view_warning",
            "riskcontrol.view_merchantrisk",
            "riskcontrol.view_riskaction",
            "riskcontrol.reverse_riskaction",
            "riskcontrol.view_partnernotice",
        ],
    },
    INSPECTOR: {
        "label": _("Field inspector"),
        "staff": True,
        "permissions": [
            "lending.view_application",
            "lending.view_fieldinspection",
            "lending.change_fieldinspection",
        ],
    },
    COLLECTIONS_AGENT: {
        "label": _("Collections agent"),
        "staff": True,
        "permissions": [
            "lending.view_loan",
            "lending.change_loan",
            "lending.view_loanstatuschange",
            "lending.view_loanevent",
            "lending.view_installment",
            "merchants.view_merchant",
            "merchants.view_owner",
            "merchants.view_guarantee",  # whom to ask when the borrower does not pay
            # The collections queue: work the cases, log contacts, take promises to pay.
            "lending.view_collectioncase",
            "lending.change_collectioncase",
            "lending.view_collectioncasechange",
            "lending.view_contactlog",
            "lending.add_contactlog",
            "lending.view_promisetopay",
            "lending.add_promisetopay",
            "common.view_approvalrequest",
        ],
    },
    RISK_MANAGER: {
        "label": _("Risk manager"),
        "staff": True,
        "permissions": [
            *_MERCHANT_FILE,
            "merchants.change_merchant",
            # guarantees: enter them and end them (parties and amount are fixed once given)
            "merchants.view_guarantee",
            "merchants.add_guarantee",
            "merchants.change_guarantee",
            "lending.view_*",
            "scoring.view_*",
            "scoring.promote_scoringmodel",
            "scoring.change_offer",
            "scoring.add_ratingadjustment",
            "scoring.change_ratingadjustment",
            "scoring.delete_ratingadjustment",
            "scoring.change_scoringpolicy",
            "scoring.add_officerfinding",
            "scoring.change_officerfinding",
            "scoring.add_sandboxrun",  # the sandbox's pages check this one (scoring/views_risk.py)
            "riskcontrol.*",
            "common.view_approvalrequest",
            "common.approve_request",
        ],
    },
    FINANCE: {
        "label": _("Finance"),
        "staff": True,
        "permissions": [
            *_LEDGER,
            "payments.view_hold",
            "payments.view_payout",
            "payments.view_fundingpool",
            "payments.add_fundingpool",
            "payments.change_fundingpool",
            "lending.view_loan",
            "lending.view_loanevent",
            "lending.view_cobrun",
            "lending.view_cobchunk",
            "merchants.view_merchant",
            "common.view_approvalrequest",
            "common.approve_request",
        ],
    },
    ADMINISTRATOR: {
        "label": _("Administrator"),
        "staff": True,  # everything below, but not a superuser
        "permissions": [
            "auth.*",
            "common.*",
            "merchants.*",
            "payments.*",
            "lending.*",
            "scoring.*",
            "riskcontrol.*",
            # Sign-in lockouts (django-axes): see who is locked out and lift a lockout by
            # deleting its attempt row.
            "axes.view_accessattempt",
            "axes.delete_accessattempt",
            "axes.view_accesslog",
            "axes.view_accessfailurelog",
        ],
    },
}


class RoleDefinitionError(LookupError):
    """A role lists a permission that does not exist: a typo, or a model that was removed."""


def _is_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[")


def role_permissions(
    role: str, available: dict[str, set[str]], *, strict: bool = True
) -> set[tuple[str, str]]:
    """The (app_label, codename) pairs a role grants among `available` ({app_label: codenames}).

    Raises RoleDefinitionError for a listed permission that does not exist; not strict (a
    migration, whose point in history may come before a model was added), it is skipped, and a
    later migration runs the sync again. A pattern may match nothing (an app with no models yet)."""
    granted: set[tuple[str, str]] = set()
    for name in ROLES[role]["permissions"]:
        app_label, _dot, codename = name.partition(".")
        if not codename:
            raise RoleDefinitionError(f"role {role!r}: {name!r} is not 'app_label.codename'")
        codenames = available.get(app_label, set())
        if _is_pattern(codename):
            granted.update((app_label, c) for c in codenames if fnmatchcase(c, codename))
        elif codename in codenames:
            granted.add((app_label, codename))
        elif strict:
            raise RoleDefinitionError(f"role {role!r}: permission {name!r} does not exist")
    return granted


def roles_sync(apps=None, *, strict: bool = True) -> dict[str, int]:
    """Create the roles' groups and give each exactly its permissions (idempotent). Groups that
    are not roles are left alone. `apps` is a migration's app registry, or none for the live
    one. Returns {group name: permissions granted}."""
    registry = apps or global_apps
    group_model = registry.get_model("auth", "Group")
    permission_model = registry.get_model("auth", "Permission")
    available: dict[str, set[str]] = {}
    ids: dict[tuple[str, str], int] = {}
    for pk, app_label, codename in permission_model.objects.values_list(
        "pk", "content_type__app_label", "codename"
    ):
        available.setdefault(app_label, set()).add(codename)
        ids[(app_label, codename)] = pk
    # Check every role before changing any, so a bad definition changes nothing.
    granted = {role: role_permissions(role, available, strict=strict) for role in ROLES}
    for role, pairs in granted.items():
        group, _created = group_model.objects.get_or_create(name=role)
        group.permissions.set(sorted(ids[pair] for pair in pairs))
    return {role: len(pairs) for role, pairs in granted.items()}


def roles_migrate(apps, schema_editor) -> None:
    """A migration's step: make sure every model's permissions exist at this point of the history
    (Django creates them only after all migrations, post_migrate), then sync the roles, skipping
    permissions of models added later (the migration that adds them runs this again)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None
    roles_sync(apps=apps, strict=False)
