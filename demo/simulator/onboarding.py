"""Putting the demo's partners, owners, merchants, hidden profiles and logins in the database,
and taking them out again."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection

from common import roles
from common.crypto import blind_index
from demo.models import SimulatorState
from demo.simulator.market import NEVER, Market
from demo.simulator.population import Population
from merchants import services
from merchants.models import (
    ApiKey,
    Complaint,
    DeclaredFinancials,
    Merchant,
    MerchantStatusChange,
    Order,
    OrderStatusChange,
    Owner,
    PartnerPlatform,
    QuestionnaireResponse,
    Rating,
    Refund,
    Settlement,
    SimulatedProfile,
    TradingRelation,
    Verification,
)
from merchants.services import MerchantData

DEMO_PASSWORD = "xiaodai-demo"  # noqa: S105 - the published password of the demo logins
# The staff logins and their roles (groups created by a migration: common/roles.py); seller and
# member are merchants' logins, in the merchant role.
STAFF_LOGINS = (
    ("officer", roles.LOAN_OFFICER),
    ("officer2", roles.LOAN_OFFICER),  # the second pair of eyes on large approvals
    ("inspector", roles.INSPECTOR),
    ("collections", roles.COLLECTIONS_AGENT),
    ("risk", roles.RISK_MANAGER),
    ("finance", roles.FINANCE),
    ("admin", roles.ADMINISTRATOR),
)
DEMO_USERNAMES = ("seller", "member", *(username for username, _ in STAFF_LOGINS))
# The platforms' names as their operator types them, one name each (a proper noun, shown as
# written in every language).
PARTNERS = (
    ("taobao", "淘宝", PartnerPlatform.Kind.B2C),
    ("alibaba", "1688", PartnerPlatform.Kind.B2B),
)
# Children before parents, so that nothing is deleted while something still points at it.
MERCHANTS_TABLES_IN_DELETE_ORDER = (
    OrderStatusChange,
    Rating,
    Refund,
    Complaint,
    Settlement,
    Order,
    QuestionnaireResponse,
    TradingRelation,
    Verification,
    DeclaredFinancials,
    SimulatedProfile,
    MerchantStatusChange,
    Merchant,
    Owner,
    ApiKey,
    PartnerPlatform,
)


@dataclass
class Partners:
    b2c: PartnerPlatform
    b2b: PartnerPlatform
    raw_keys: dict[str, str]


def marketplace_has_data() -> bool:
    return (
        PartnerPlatform.objects.exists()
        or Merchant.objects.exists()
        or SimulatorState.objects.exists()
        or get_user_model().objects.filter(username__in=DEMO_USERNAMES).exists()
    )


def _project_tables() -> list[str]:
    """Tables of the project's own apps (not Django's or third parties'), downstream apps
    first so that rows are deleted before what they point at."""
    root = Path(settings.BASE_DIR).resolve()
    tables: list[str] = []
    for config in reversed(list(apps.get_app_configs())):
        path = Path(config.path).resolve()
        if root not in path.parents or ".venv" in path.parts:
            continue
        models = list(config.get_models(include_auto_created=True))
        if config.label == "merchants":
            ordered = [m for m in models if m not in MERCHANTS_TABLES_IN_DELETE_ORDER]
            models = ordered + list(MERCHANTS_TABLES_IN_DELETE_ORDER)
        tables.extend(m._meta.db_table for m in models if m._meta.managed and not m._meta.proxy)
    return tables


def marketplace_reset() -> None:
    """Empty the merchants app and every other project app, and delete the demo logins.

    Wallets, ledgers, loans and scores all derive from the marketplace, so a rebuild cannot keep
    them; ledgers are append-only (PostgreSQL refuses row deletes), so tables are emptied whole,
    the way `manage.py flush` does, with ids starting again from 1. Django's own tables (other
    users, permissions, sessions) are kept."""
    statements = connection.ops.sql_flush(no_style(), _project_tables(), reset_sequences=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE refuses tables with deferred checks still pending in this transaction
            # (a reset right after a seed in one transaction): run those checks now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for sql in statements:
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    get_user_model().objects.filter(username__in=DEMO_USERNAMES).delete()


def partners_create() -> Partners:
    """The two partner platforms, each with one API key shown only now."""
    created, raw_keys = [], {}
    for code, name, kind in PARTNERS:
        partner = services.partner_create(code=code, name=name, kind=kind)
        _, raw_keys[code] = services.api_key_issue(partner=partner, name="demo marketplace")
        created.append(partner)
    return Partners(b2c=created[0], b2b=created[1], raw_keys=raw_keys)


def population_write(population: Population, partners: Partners) -> None:
    """Owners (identifiers encrypted, with blind indexes), merchants and hidden profiles. An
    owner is per partner platform: a person with shops on both is an owner row on each."""
    owners: dict[tuple[int, int], Owner] = {}
    for spec in population.merchants:
        partner = partners.b2b if spec.is_b2b else partners.b2c
        if (spec.owner, partner.pk) not in owners:
            o = population.owners[spec.owner]
            owners[(spec.owner, partner.pk)] = Owner(
                partner=partner,
                name=o.name,
                national_id=o.national_id,
                national_id_index=blind_index(o.national_id),
                phone=o.phone,
                address=o.address,
                bank_card=o.bank_card,
                bank_card_index=blind_index(o.bank_card) if o.bank_card else "",
            )
    Owner.objects.bulk_create(list(owners.values()), batch_size=500)
    merchants = []
    for spec in population.merchants:
        partner = partners.b2b if spec.is_b2b else partners.b2c
        data = MerchantData(
            external_id=spec.external_id,
            shop_name=spec.shop_name,
            category=spec.category,
            region=spec.region,
            opened_on=spec.opened_on,
            owner=population.owners[spec.owner],
        )
        merchants.append(
            Merchant(
                partner=partner,
                external_id=spec.external_id,
                owner=owners[(spec.owner, partner.pk)],
                shop_name=spec.shop_name,
                category=spec.category,
                region=spec.region,
                opened_on=spec.opened_on,
                # The hash a partner's resend of this merchant through the API would carry.
                content_hash=services._merchant_hash(data),
            )
        )
    Merchant.objects.bulk_create(merchants, batch_size=500)
    SimulatedProfile.objects.bulk_create(
        [
            SimulatedProfile(
                merchant=merchant,
                quality=spec.quality,
                orders_per_day=spec.orders_per_day,
                ticket_fen=spec.ticket_fen,
                trend_per_year=spec.trend_per_year,
                seasonality=spec.seasonality,
                refund_rate=spec.refund_rate,
                complaint_rate=spec.complaint_rate,
                cash_dry_on=spec.cash_dry_on,
                vanish_on=spec.vanish_on,
                ring=spec.ring,
            )
            for merchant, spec in zip(merchants, population.merchants, strict=True)
        ],
        batch_size=500,
    )


@lru_cache(maxsize=1)
def _demo_password_hash() -> str:
    # Hashing is deliberately slow; one hash serves all five logins of a run.
    return make_password(DEMO_PASSWORD)


def _best(market: Market, *, b2b: bool, min_orders_per_day: float) -> int | None:
    """The best honest, established, steady merchant of a kind: the demo's model borrower."""
    candidates = [
        i
        for i in range(market.size)
        if market.is_b2b[i] == b2b
        and market.ring[i] < 0
        and market.vanish[i] == NEVER
        and market.dry[i] == NEVER
        and market.opened[i] < market.started_on.toordinal()
    ]
    steady = [i for i in candidates if market.orders_per_day[i] >= min_orders_per_day] or candidates
    return max(steady, key=lambda i: market.quality[i]) if steady else None


def _role_groups() -> dict[str, Group]:
    """The roles' groups, as the migration made them. A test database emptied since (a
    transactional test's flush) gets them again from the same definition."""
    found = {g.name: g for g in Group.objects.filter(name__in=roles.ROLES)}
    if len(found) < len(roles.ROLES):
        roles.roles_sync()
        found = {g.name: g for g in Group.objects.filter(name__in=roles.ROLES)}
    return found


def demo_users_create(market: Market) -> dict[str, str]:
    """The demo's logins, sharing DEMO_PASSWORD, each in its role's group; returns {username:
    what it is for}."""
    user_model = get_user_model()
    groups = _role_groups()
    password = _demo_password_hash()
    logins: dict[str, str] = {}
    for username, b2b in (("seller", False), ("member", True)):
        position = _best(market, b2b=b2b, min_orders_per_day=1.0 if not b2b else 0.3)
        user = user_model.objects.create(username=username, password=password)
        user.groups.add(groups[roles.MERCHANT])
        if position is not None:
            merchant_pk = int(market.merchant_pk[position])
            Merchant.objects.filter(pk=merchant_pk).update(user=user)
            logins[username] = f"{'B2B member' if b2b else 'B2C seller'} {market.external_id[position]}"
    for username, role in STAFF_LOGINS:
        user = user_model.objects.create(
            username=username, password=password, is_staff=True, email=f"{username}@xiaodai.example"
        )
        user.groups.add(groups[role])
        logins[username] = f"{roles.ROLES[role]['label']} (staff)"
    return logins
