"""Every portal and workbench page, read from the URL conf and filled with objects of the current
database: the merchant portal ("portal" namespace), the risk managers' pages ("risk", "risknet"),
the workbench (the admin index, each registered model's changelist and one change page, the
model admins' own pages) and the ops screens. Each page is named (its URL name, or admin's
changelist/change name) and carries the login that opens it, so the query-count test and
bench/pages.py measure the same pages.

Built on the demo's logins (`seller`, `member`, `officer`, `risk`, `admin`, ...). A pattern whose
arguments cannot be filled from the database is reported in `skipped` with the reason, so a new
page is noticed rather than silently left out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

from django.apps import apps
from django.contrib import admin
from django.db.models import Count
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

# Portal and risk pages that are actions (POST only) or need a one-time token: not pages to read.
NOT_PAGES = {
    "portal:home": "redirects: merchants to the overview, staff to the workbench",
    "portal:logout": "POST only: ends the session",
    "portal:enter": "needs a partner's one-time hand-off token",
    "portal:invite": "needs an officer's one-time invitation token",
    "portal:loan-repay": "POST only (the repay form's target)",
    "portal:wallet-withdraw": "POST only (the withdraw form's target)",
    "portal:offer-accept": "POST only (the offer's accept button)",
    "portal:offer-decline": "POST only (the offer's decline button)",
    "portal:application-draw": "POST only",
    "portal:application-appeal": "POST only",
    "portal:application-withdraw": "POST only",
    "portal:application-accept": "POST only",
    "portal:credit-ask": "POST only",
    "portal:apply-terms": "JSON for the apply page's script, asked with the form's amount and orders",
}
# The admin's own per-object pages that are forms acting on one object, beside its change page.
# ("decide": POST only, an approval request's approve / reject / cancel buttons; "book_check": POST
# only, the trial balance's button checking each loan.)
ADMIN_NOT_PAGES = {
    "delete",
    "history",
    "autocomplete",
    "jsi18n",
    "logout",
    "password_change_done",
    "decide",
    "book_check",
}
# Admin pages opened as another role than the administrator: an inspector records only their own
# visits (the inspections' queryset is the inspector's).
ADMIN_PAGE_LOGINS = {
    "admin:lending_inspection_record": "inspector",
    "admin:lending_fieldinspection_changelist": "inspector",
    "admin:lending_fieldinspection_change": "inspector",
}
# Standard admin pages that redirect to the workbench's own page for the same thing (measured there).
ADMIN_REDIRECTS = {
    "admin:lending_application_change": "the application's case page",
    "admin:lending_collectioncase_changelist": "the collections queue",
    "admin:lending_collectioncase_change": "the collections case page",
}
SUPERUSER = "superuser"
# Pages outside the portal's and risk pages' namespaces, each with the login that opens it: the
# credit file (staff who may view merchants), the status every job page polls (only its starter:
# the training job's risk manager), the demo's page for moving time on and its job's pages.
OTHER_PAGES = {"credit-file": "admin", "ops-assembly-line": "officer", "job-status": "risk"}
OTHER_NAMESPACES = {"portal", "risk", "risknet", "demo"}
# Pages that show each role something different, opened as each of these roles too (named
# "<page>[<login>]"): the credit file's sections follow the reader's permissions, the workbench's
# index its models.
ROLE_PAGES = {
    "credit-file": ("officer", "collections", "risk"),
    "admin:index": ("officer", "inspector", "collections", "risk", "finance"),
}
MEMBER_PAGES = {"member-apply", "member-application", "application-book", "application-documents"}


@dataclasses.dataclass(frozen=True)
class Page:
    name: str
    url: str
    login: str


@dataclasses.dataclass
class Catalogue:
    pages: list[Page]
    skipped: dict[str, str]


def _walk(patterns, namespace: str = "", prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            yield from _walk(
                entry.url_patterns,
                f"{namespace}:{inner}".strip(":") if inner else namespace,
                prefix + str(entry.pattern),
            )
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace, entry.name, prefix + str(entry.pattern), entry


def _arguments(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route)


class _World:
    """The objects pages are filled with: for each kind, the one with the most rows to show."""

    def __init__(self):
        from common.models import Job
        from lending.models import Application, CreditLine, Loan
        from merchants.models import Merchant
        from scoring.models import Offer, SandboxRun
        from scoring.tasks import TRAINING_KIND

        ADVANCE_KIND = "demo.advance"  # demo.tasks.ADVANCE_KIND: no module outside the demo imports it

        def busiest(queryset, related: str):
            return queryset.annotate(_rows=Count(related)).order_by("-_rows", "-pk").first()

        self.seller = Merchant.objects.filter(user__username="seller").first()
        self.member = Merchant.objects.filter(user__username="member").first()
        self.loan = busiest(Loan.objects.filter(merchant=self.seller), "events")
        self.line = CreditLine.objects.filter(merchant=self.seller).order_by("-pk").first()
        self.application = Application.objects.filter(merchant=self.seller).order_by("-pk").first()
        self.member_application = Application.objects.filter(merchant=self.member).order_by("-pk").first()
        self.offer = Offer.objects.filter(merchant=self.seller).order_by("-pk").first()
        self.sandbox_run = SandboxRun.objects.order_by("-pk").first()
        self.busiest_merchant = busiest(Merchant.objects.all(), "orders")
        self.training_job = Job.objects.filter(kind=TRAINING_KIND).order_by("-pk").first()
        self.advance_job = Job.objects.filter(kind=ADVANCE_KIND).order_by("-pk").first()

    def fill(self, name: str, argument: str):
        """The value for `argument` of the page `name`, or None when the database has none."""
        member = name.split(":")[-1] in MEMBER_PAGES
        if argument == "reference":
            applied = self.member_application if member else self.application
            found = self.loan if "loan" in name else applied
            return found.reference if found else None
        if argument == "line_id":
            return self.line.pk if self.line else None
        if argument == "offer_id":
            return self.offer.pk if self.offer else None
        if argument == "run_id":
            return self.sandbox_run.pk if self.sandbox_run else None
        if argument == "job_id":
            job = self.advance_job if name.startswith("demo:") else self.training_job
            return job.pk if job else None
        if argument == "fmt":
            return "pdf"  # the costlier of the documents' two formats (pdf, csv)
        if argument in {"merchant_id", "merchant_pk"}:
            return self.busiest_merchant.pk if self.busiest_merchant else None
        return None


def _login_for(name: str) -> str:
    namespace, _, url_name = name.rpartition(":")
    if namespace == "portal":
        return "member" if url_name in MEMBER_PAGES else "seller"
    if namespace in {"risk", "risknet"}:
        return "risk"
    return OTHER_PAGES.get(name, "admin")


def _admin_login(model) -> str:
    """The administrator for the project's models; a superuser for the libraries' (the audit log,
    django-axes), which no role is given."""
    return _app_login(model._meta.app_label)


def _app_login(app_label: str) -> str:
    from django.conf import settings

    path = Path(apps.get_app_config(app_label).path).resolve()
    return "admin" if path.parent == Path(settings.BASE_DIR).resolve() else SUPERUSER


def _admin_pages(skipped: dict[str, str]) -> list[Page]:
    from lending import ops

    pages = [Page("admin:index", reverse("admin:index"), "admin")]
    # Each app's page of the workbench (its models), and the reader's own password form.
    for app_label in sorted({model._meta.app_label for model in admin.site._registry}):
        url = reverse("admin:app_list", kwargs={"app_label": app_label})
        pages.append(Page(f"admin:app_list[{app_label}]", url, _app_login(app_label)))
    pages.append(Page("admin:password_change", reverse("admin:password_change"), "admin"))
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        login = _admin_login(model)
        if f"{base}_changelist" not in ADMIN_REDIRECTS:
            who = ADMIN_PAGE_LOGINS.get(f"{base}_changelist", login)
            pages.append(Page(f"{base}_changelist", reverse(f"{base}_changelist"), who))
        if opts.label == "auditlog.LogEntry":
            pages.extend(_audit_filtered_pages(base, login))
        last = _busiest_object(model)
        if f"{base}_change" in ADMIN_REDIRECTS:
            pass
        elif last is None:
            skipped[f"{base}_change"] = "no row to open"
        else:
            who = ADMIN_PAGE_LOGINS.get(f"{base}_change", login)
            pages.append(Page(f"{base}_change", reverse(f"{base}_change", args=[last.pk]), who))
        # The model admin's own pages (queues, case pages, the trial balance, request forms).
        standard = {f"{opts.app_label}_{opts.model_name}_{s}" for s in ("changelist", "add", "change")}
        for pattern in model_admin.get_urls():
            if not isinstance(pattern, URLPattern) or not pattern.name or pattern.name in standard:
                continue
            if any(pattern.name.endswith("_" + word) for word in ADMIN_NOT_PAGES):
                continue
            arguments = _arguments(str(pattern.pattern))
            name = f"admin:{pattern.name}"
            if not arguments:
                pages.append(Page(name, reverse(name), "admin"))
            elif arguments == ["queue"]:
                pages.extend(Page(f"{name}[{q}]", reverse(name, args=[q]), "admin") for q in ops.QUEUES)
            elif arguments in (["pk"], ["id"]):
                obj = _object_for(model, pattern.name)
                if obj is None:
                    skipped[name] = "no row to open"
                else:
                    who = ADMIN_PAGE_LOGINS.get(name, "admin")
                    pages.append(Page(name, reverse(name, args=[obj.pk]), who))
            else:
                skipped[name] = f"arguments {arguments} not known to the catalogue"
    return pages


def _audit_filtered_pages(base: str, login: str) -> list[Page]:
    """The audit log as its History links and filters open it: one object's rows (the loan with
    the most events, the busiest merchant's wallet) and one kind of object's rows."""
    from lending.models import Loan
    from payments.models import Account

    url = reverse(f"{base}_changelist")
    loan = _busiest_object(Loan)
    wallet = Account.objects.filter(merchant__user__username="seller").order_by("pk").first()
    pages = [Page(f"{base}_changelist[model]", f"{url}?model=lending.loan", login)]
    if loan is not None:
        pages.append(Page(f"{base}_changelist[loan]", f"{url}?object=lending.loan:{loan.pk}", login))
    if wallet is not None:
        pages.append(Page(f"{base}_changelist[wallet]", f"{url}?object=payments.account:{wallet.pk}", login))
    return pages


def _busiest_object(model):
    """The row whose change page shows the most: the demo seller's shop, the loan with most
    events, otherwise the newest row."""
    label = model._meta.label
    if label == "merchants.Merchant":
        return model.objects.filter(user__username="seller").first() or model.objects.order_by("-pk").first()
    if label == "lending.Loan":
        return model.objects.annotate(_rows=Count("events")).order_by("-_rows", "-pk").first()
    return model.objects.order_by("-pk").first()


def _object_for(model, url_name: str):
    label = model._meta.label
    if label == "lending.Application" and url_name == "lending_case":
        # A case page with a stage to work, when there is one.
        from lending.models import ApplicationStage

        stage = ApplicationStage.objects.order_by("-pk").first()
        if stage is not None:
            return stage.application
    if label == "lending.Application" and url_name == "lending_document":
        from lending.models import ApplicationDocument

        return ApplicationDocument.objects.order_by("-pk").first()
    return _busiest_object(model)


def catalogue() -> Catalogue:
    """The pages of the current database's world."""
    world = _World()
    pages: list[Page] = []
    skipped: dict[str, str] = {}
    for namespace, url_name, route, _pattern in _walk(get_resolver().url_patterns):
        if namespace not in OTHER_NAMESPACES and url_name not in OTHER_PAGES:
            continue
        name = f"{namespace}:{url_name}".strip(":")
        if name in NOT_PAGES:
            continue
        arguments = _arguments(route)
        values = [world.fill(name, argument) for argument in arguments]
        if any(value is None for value in values):
            missing = [a for a, v in zip(arguments, values, strict=True) if v is None]
            skipped[name] = f"nothing in the database for {missing}"
            continue
        try:
            url = reverse(name, args=values)
        except NoReverseMatch as exc:
            skipped[name] = str(exc)
            continue
        if name == "portal:statement-month":
            # The month's statement is asked for by month: the last whole month.
            from common.business_date import business_date_today

            last_month = business_date_today().replace(day=1) - dt.timedelta(days=1)
            url += f"?month={last_month:%Y-%m}"
        pages.append(Page(name, url, _login_for(name)))
    pages.extend(_admin_pages(skipped))
    pages.extend(
        Page(f"{page.name}[{login}]", page.url, login)
        for page in list(pages)
        for login in ROLE_PAGES.get(page.name, ())
    )
    return Catalogue(pages=pages, skipped=skipped)


def demo_world_build(*, merchants: int, days: int, closed_days: int, end_on=None) -> None:
    """A small demo marketplace with a history of loans: `days` of trading, `closed_days` business
    days traded and closed (loans drawn, repaid, late), a hand-made champion, ratings, offers and
    the day's applications, then a third of `closed_days` more. Needs the demo app."""
    from demo.scoring import demo_scoring_run
    from demo.services import demo_days_trade_and_close
    from demo.simulator import marketplace_seed
    from tests.scoring.factories import champion_create

    end_on = end_on or dt.date(2025, 3, 31)
    marketplace_seed(merchants=merchants, days=days, seed=7, ended_on=end_on)
    demo_days_trade_and_close(through=end_on + dt.timedelta(days=closed_days))
    champion_create()
    demo_scoring_run(say=lambda _message: None)
    demo_days_trade_and_close(through=end_on + dt.timedelta(days=closed_days + max(1, closed_days // 3)))
    logins_move_to_busiest()


def logins_move_to_busiest() -> None:
    """The demo's `seller` login onto the B2C shop with the most loan events, `member` onto the
    B2B shop with the most applications, so the portal's loan and application pages have rows
    to show."""
    from merchants.models import Merchant, PartnerPlatform

    for username, kind in (("seller", PartnerPlatform.Kind.B2C), ("member", PartnerPlatform.Kind.B2B)):
        shops = Merchant.objects.filter(partner__kind=kind)
        busiest = (
            shops.annotate(
                _events=Count("loans__events", distinct=True), _apps=Count("applications", distinct=True)
            )
            .order_by(*(("-_events", "-_apps") if username == "seller" else ("-_apps", "-_events")), "pk")
            .first()
        )
        user = Merchant.objects.filter(user__username=username).values_list("user_id", flat=True).first()
        if busiest is None or user is None or busiest.user_id == user:
            continue
        Merchant.objects.filter(user_id=user).update(user=None)
        Merchant.objects.filter(pk=busiest.pk).update(user_id=user)


def login_user(username: str):
    """The user a page is opened as: the demo's login, or a superuser made on first use."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    if username == SUPERUSER:
        user = users.filter(username=SUPERUSER).first()
        return user or users.create_superuser(SUPERUSER, f"{SUPERUSER}@xiaodai.example", None)
    return users.get(username=username)


def rare_rows_create(*, on=None) -> dict:
    """One of each object that only a person's action makes, so their pages have something to
    open: a sandbox run (run), a training job (the champion's), the demo's job moving time on
    (done, when the demo is installed), an application of the portal's
    `seller`, a pending approval request (a write-off), a member's document (a PDF in file
    storage, as the upload stores it) and a field inspection to record. Through the services
    where there is one; a kind already present is left alone. Returns what it made."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse as url_for

    from common import four_eyes, jobs
    from common.business_date import business_date_today
    from common.errors import ApplicationError
    from common.models import ApprovalRequest, Job
    from lending.models import Application, ApplicationDocument, FieldInspection, Loan, Product
    from lending.services import applications as apply
    from merchants.models import Merchant
    from scoring.models import SandboxRun
    from scoring.sandbox.services import sandbox_run_create, sandbox_run_execute
    from scoring.selectors import champion_get
    from scoring.tasks import TRAINING_KIND, TRAINING_STEPS

    on = on or business_date_today()
    users = get_user_model().objects
    risk = users.filter(username="risk").first()
    made: dict[str, object] = {}
    if risk is not None and not SandboxRun.objects.exists():
        run = sandbox_run_create(
            created_by=risk,
            name="Cutoff B, all regions",
            region="",
            segment="",
            policy={"cutoff_grade": "B"},
            horizon_days=180,
        )
        made["sandbox_run"] = sandbox_run_execute(run_id=run.pk).status
    champion = champion_get()
    if risk is not None and champion is not None and not Job.objects.filter(kind=TRAINING_KIND).exists():
        job = jobs.job_create(kind=TRAINING_KIND, created_by=risk, total=TRAINING_STEPS, lock=TRAINING_KIND)
        job.result_url = url_for("risk:training-result", kwargs={"job_id": job.pk})
        job.save(update_fields=["result_url"])
        jobs.job_start(job_id=job.pk, total=TRAINING_STEPS)
        jobs.job_finish(
            job_id=job.pk,
            result={"model": champion.pk, "version": champion.version, "status": champion.status},
        )
        made["training_job"] = job.pk
    admin_user = users.filter(username="admin").first()
    advance = "demo.advance"  # demo.tasks.ADVANCE_KIND, for the demo's pages (when installed)
    if apps.is_installed("demo") and admin_user is not None and not Job.objects.filter(kind=advance).exists():
        # As the demo's page leaves it once the worker has closed the week up to the business date.
        week = [(on - dt.timedelta(days=d)).isoformat() for d in range(7, 0, -1)]
        job = jobs.job_create(kind=advance, created_by=admin_user, total=len(week), lock=advance)
        job.result_url = url_for("demo:advance-result", kwargs={"job_id": job.pk})
        job.save(update_fields=["result_url"])
        jobs.job_start(job_id=job.pk, total=len(week))
        jobs.job_finish(job_id=job.pk, result={"closed": week, "business_date": on.isoformat()})
        made["advance_job"] = job.pk
    logins_move_to_busiest()
    seller = Merchant.objects.filter(user__username="seller").first()
    if seller is not None and not Application.objects.filter(merchant=seller).exists():
        for product in Product.objects.filter(is_active=True).order_by("pk"):
            try:
                application = apply.application_submit(
                    merchant=seller,
                    product=product,
                    amount_fen=500_000,
                    channel="portal",
                    on=on,
                    actor="seller",
                )
            except ApplicationError:
                continue
            made["seller_application"] = application.status
            break
    requester = users.filter(username="officer").first()
    loan = Loan.objects.filter(status=Loan.Status.OVERDUE).order_by("-days_past_due", "pk").first()
    if requester is not None and loan is not None and not ApprovalRequest.objects.exists():
        outstanding = sum(
            (loan.principal_outstanding_fen, loan.interest_outstanding_fen, loan.penalty_outstanding_fen)
        )
        made["approval_request"] = four_eyes.approval_request_create(
            action="loan.write_off",
            target=f"lending.Loan:{loan.pk}",
            amount_fen=outstanding,
            params={"loan_id": loan.pk, "reason": "no contact for 90 days"},
            requested_by=requester,
            reason="no contact for 90 days",
        ).pk
    deciding = Application.objects.filter(
        merchant__partner__kind="b2b", status__in=[Application.Status.SUBMITTED, Application.Status.REFERRED]
    )
    member_first = deciding.filter(merchant__user__username="member").order_by("-pk").first()
    application = member_first or deciding.order_by("-pk").first()
    if application is not None and not ApplicationDocument.objects.exists():
        body = b"%PDF-1.7\n% a business licence\n" + b"0" * 20_000 + b"\n%%EOF\n"
        made["document"] = apply.application_document_add(
            application=application,
            kind=ApplicationDocument.Kind.BUSINESS_LICENCE,
            upload=SimpleUploadedFile("business-licence.pdf", body, content_type="application/pdf"),
        ).file.name
    inspector = users.filter(username="inspector").first()
    if application is not None and inspector is not None and not FieldInspection.objects.exists():
        made["inspection"] = FieldInspection.objects.create(
            application=application,
            inspector=inspector,
            assigned_by="officer",
            address=application.merchant.owner.address[:200],
        ).pk
    return made


def admin_rows_create(*, related: int) -> dict[str, int]:
    """One row of every model registered on the workbench that the world has none of (the
    approval requests, webhooks, warnings, network runs, ... a small demo world never makes),
    each with `related` rows of every kind that points to it (a webhook delivery's attempts, a
    network run's flagged shops, a model's drift reports), so each change page is opened and its
    query count compared with few and with many rows to show. Fields are filled by their kind:
    the first choice, the business date (a day earlier for each further row), a word, a small
    number; a foreign key takes the newest row of its kind, made the same way if there is none.
    Returns {model label: pk of the row made}."""
    made: dict[str, int] = {}
    empty = [model for model in admin.site._registry if not model.objects.exists()]
    for model in empty:
        # Made already as another's related row (a webhook endpoint's delivery), or made now.
        obj = model.objects.order_by("-pk").first() or _row_create(model, 0)
        made[model._meta.label] = obj.pk
        for relation in model._meta.related_objects:
            if not relation.one_to_many:
                continue
            for index in range(related):
                _row_create(relation.related_model, index, {relation.field.name: obj})
    return made


# Rows given to a person of the demo: an inspector sees only the visits given to it.
GIVEN_USERS = {("lending.FieldInspection", "inspector"): "inspector"}


def _row_create(model, index: int, given: dict | None = None):
    """A row of `model` with `given` fields and the rest filled by their kind (see
    admin_rows_create); `index` makes each row of a parent's many differ."""
    import decimal

    from django.db import models as db
    from django.utils import timezone

    from common.business_date import business_date_today

    values = dict(given or {})
    today = business_date_today()
    for field in model._meta.concrete_fields:
        if field.name in values or field.null or (field.primary_key and not field.is_relation):
            continue
        if field.has_default() or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        if (model._meta.label, field.name) in GIVEN_USERS:
            values[field.name] = login_user(GIVEN_USERS[(model._meta.label, field.name)])
        elif field.is_relation and (field.primary_key or field.unique):
            # One row per related row (a merchant's risk): one that has none yet.
            taken = model.objects.values(field.attname)
            values[field.name] = field.related_model.objects.exclude(pk__in=taken).order_by("-pk").first()
        elif field.is_relation:
            # A different row for each of a parent's many, where there are enough; a second key
            # to the same model (a guarantee's borrower and guarantor) the next row.
            same = sum(isinstance(value, field.related_model) for value in values.values())
            found = field.related_model.objects.order_by("-pk")[index + same : index + same + 1]
            values[field.name] = found[0] if found else _row_create(field.related_model, index)
        elif field.choices:
            values[field.name] = field.choices[0][0]
        elif isinstance(field, db.DateTimeField):
            values[field.name] = timezone.now() - dt.timedelta(hours=index)
        elif isinstance(field, db.DateField):
            values[field.name] = today - dt.timedelta(days=index)
        elif isinstance(field, db.DecimalField):
            values[field.name] = decimal.Decimal("1")
        elif isinstance(field, db.FloatField):
            values[field.name] = 0.05
        elif isinstance(field, db.IntegerField):
            values[field.name] = index + 1
        elif isinstance(field, db.URLField):
            values[field.name] = f"https://partner.example/hooks/{index}"
        elif isinstance(field, db.GenericIPAddressField):
            values[field.name] = "192.0.2.1"
        else:
            limit = getattr(field, "max_length", None) or 64
            values[field.name] = f"{field.name}-{index}"[:limit]
    return model.objects.create(**values)
