from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.apps import apps
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from common import views_jobs
from config.admin_login import admin_login
from lending import views_ops
from riskcontrol import views_credit_file

admin.site.site_header = _("Xiaodai · officers' workbench")
admin.site.site_title = _("Xiaodai workbench")
admin.site.index_title = _("Credit factory")

# Swagger UI and Redoc insert <style> elements from their scripts: the docs pages (and only they)
# allow inline styles, which cannot run code; scripts stay limited to our files and the nonce.
docs_styles = csp_replace({"style-src": [SELF, UNSAFE_INLINE]})

urlpatterns = [
    path(
        "admin/riskcontrol/credit-file/<int:merchant_id>/",
        admin.site.admin_view(views_credit_file.credit_file),
        name="credit-file",
    ),
    # Browsers ask for /favicon.ico on every page, the workbench's included: the icon, not a 404.
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("favicon.ico"))),
    # The workbench's scripts' words: Django's own, and the project's (common/locale/*/djangojs.po)
    # where Django's Chinese lacks them (the permission chooser's "Choose all %s" and its buttons).
    path(
        "admin/jsi18n/",
        admin.site.admin_view(JavaScriptCatalog.as_view(packages=["django.contrib.admin", "common"])),
    ),
    # A signed-in merchant sent to the workbench's sign-in goes to its portal (config/admin_login.py).
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("ops/assembly-line/", admin.site.admin_view(views_ops.assembly_line), name="ops-assembly-line"),
    path("api/v1/", include("merchants.api.urls")),
    path("api/v1/", include("payments.api.urls")),
    path("api/v1/", include("lending.api.urls")),
    path("api/v1/", include("scoring.api.urls")),
    path("api/v1/", include("riskcontrol.api.urls")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        # The split view serves its start-up script as a file of its own: no inline script, so
        # the page works under the Content-Security-Policy.
        docs_styles(
            SpectacularSwaggerSplitView.as_view(
                url_name="api-schema", authentication_classes=[], permission_classes=[]
            )
        ),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        docs_styles(
            SpectacularRedocView.as_view(
                url_name="api-schema", authentication_classes=[], permission_classes=[]
            )
        ),
        name="api-redoc",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jobs/<int:job_id>/status.json", views_jobs.job_status, name="job-status"),
    path("risk/network/", include(("riskcontrol.urls", "risknet"))),
    path("risk/", include(("scoring.urls_risk", "risk"))),
    path("", include(("config.portal_urls", "portal"))),
]
if apps.is_installed("demo"):
    # By name only: no production module imports the demo.
    urlpatterns.insert(-1, path("demo/", include(("demo.urls", "demo"))))
