"""The credit file page in the workbench (/admin/riskcontrol/credit-file/<merchant_id>/, URL name
"credit-file"): staff who may view merchants see it, each section as its permissions allow;
anyone else gets the admin's login page or a 403."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from common.business_date import business_date_today
from riskcontrol.credit_file import PERMISSION, credit_file_sections, merchant_for_file


@require_GET
def credit_file(request: HttpRequest, merchant_id: int) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied(_("The credit file needs permission to view merchants."))
    merchant = merchant_for_file(merchant_id)
    if merchant is None:
        raise Http404(_("No such merchant."))
    today = business_date_today()
    sections = credit_file_sections(merchant=merchant, user=request.user, today=today)
    context = {
        **admin.site.each_context(request),
        "title": _("Credit file: %(shop)s") % {"shop": merchant.shop_name},
        "merchant": merchant,
        "risk": getattr(merchant, "risk", None),
        "today": today,
        "sections": sections,
        "can_see_network": request.user.has_perm("riskcontrol.view_ringflag"),
    }
    return TemplateResponse(request, "admin/riskcontrol/credit_file.html", context)
