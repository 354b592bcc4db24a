"""`{% load reapply %}` then `{% reapply_when application as when %}`: when a declined merchant may
apply for the product again, as the application rule decides it (lending.selectors.reapply_of),
on the business clock (common.business_date), not the calendar. `when.on` is the first day, only
while it is still ahead; otherwise `when.now` is true and `when.url` the page to apply on. A page
that has read the merchant's applications already passes `when` itself (the portal's home)."""

from django import template
from django.urls import NoReverseMatch, reverse

from common.business_date import business_date_today
from lending import selectors
from lending.models import Application, Product

register = template.Library()


def apply_url(product: Product) -> str:
    name = "portal:member-apply" if product.segment == Product.Segment.B2B else "portal:apply"
    try:
        return f"{reverse(name)}?product={product.code}"
    except NoReverseMatch:
        return ""


def reapply_view(application: Application, rows, today) -> dict:
    """What the page shows: the rule's answer and, when the merchant may apply now, where."""
    when = selectors.reapply_of(product_id=application.product_id, rows=rows, today=today)
    return {"on": when.on, "now": when.now, "url": apply_url(application.product) if when.now else ""}


@register.simple_tag
def reapply_when(application: Application) -> dict:
    rows = selectors.reapply_rows(merchant_id=application.merchant_id)
    return reapply_view(application, rows, business_date_today())
