"""`{% load reapply %}` then `{% reapply_when application as when %}`: when a declined merchant may
apply for the product again, as the application rule decides it (lending.services.applications:
the latest decline of the merchant's product governs, whichever application the page shows; an
appeal is never held back by it), on the business clock (common.business_date), not the
calendar. `when.on` is the first day, only while it is still ahead; otherwise `when.now` is true
and `when.url` the page to apply on."""

from django import template
from django.urls import NoReverseMatch, reverse

from common.business_date import business_date_today
from lending.models import Application, Product

register = template.Library()


def _apply_url(product: Product) -> str:
    name = "portal:member-apply" if product.segment == Product.Segment.B2B else "portal:apply"
    try:
        return f"{reverse(name)}?product={product.code}"
    except NoReverseMatch:
        return ""


@register.simple_tag
def reapply_when(application: Application) -> dict:
    latest = (
        Application.objects.filter(
            merchant_id=application.merchant_id,
            product_id=application.product_id,
            status__in=[
                Application.Status.DECLINED,
                Application.Status.SUBMITTED,
                Application.Status.REFERRED,
            ],
        )
        .order_by("-submitted_at", "-id")
        .values_list("status", "reapply_on")
    )
    rows = list(latest)
    waiting = next((on for status, on in rows if status == Application.Status.DECLINED), None)
    if any(status != Application.Status.DECLINED for status, _on in rows):
        # Another application of this product is being decided: nothing to apply for now.
        return {"on": None, "now": False, "url": ""}
    if waiting is not None and waiting > business_date_today():
        return {"on": waiting, "now": False, "url": ""}
    return {"on": None, "now": True, "url": _apply_url(application.product)}
