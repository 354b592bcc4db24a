"""The project's URLs plus views that fail on purpose, for the tests of Django's own errors under
/api/ (a server error, a CSRF refusal) — the real API has none to call."""

from django.urls import path
from django.views.decorators.csrf import csrf_protect

from config.urls import urlpatterns as project_urlpatterns


def explode(request):
    raise RuntimeError("boom: DATABASE_URL=postgres://secret")


@csrf_protect
def protected(request):
    raise AssertionError("the CSRF check lets nothing through")


urlpatterns = [
    path("api/v1/test-explode/", explode),
    path("api/v1/test-csrf/", protected),
    *project_urlpatterns,
]
