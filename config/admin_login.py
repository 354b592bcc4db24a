"""The workbench's sign-in page, as Django's admin serves it, except for a signed-in merchant:
every workbench page sends a visitor who is not staff to this page, where Django would tell a
merchant it is "authenticated as … but not authorized". A merchant is sent to its portal home
with a message instead; an anonymous visitor (and any other account) still gets the staff
sign-in."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from merchants.models import Merchant


def admin_login(request, extra_context=None):
    user = request.user
    if user.is_authenticated and not user.is_staff and Merchant.objects.filter(user=user).exists():
        messages.info(
            request,
            _("The workbench is for the lender's staff. Here is your shop's portal."),
        )
        return redirect("portal:overview")
    return admin.site.login(request, extra_context)
