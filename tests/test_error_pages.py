"""The project's own error pages, in the user's language, as a production install serves them
(DEBUG off): 403 and 404 in the site's layout, 500 standalone (rendered without a request context
or the database, which may be what failed)."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.template import loader
from django.test import Client
from django.urls import include, path
from django.utils import translation


def _forbidden(request):
    raise PermissionDenied("not for you")


def _broken(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("test-errors/forbidden/", _forbidden),
    path("test-errors/broken/", _broken),
    path("", include("config.urls")),
]


@pytest.fixture
def production_errors(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__


def client_in(language: str) -> Client:
    client = Client(raise_request_exception=False)
    client.cookies["django_language"] = language
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "heading"), [("zh-hans", "页面没有找到"), ("en", "Page not found")])
def test_a_missing_page_is_the_projects_404_in_the_users_language(production_errors, language, heading):
    response = client_in(language).get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert 'data-status="404"' in body and heading in body and "/no-such-page/" in body
    assert "<header" in body  # the site's layout


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "heading"), [("zh-hans", "无权访问"), ("en", "Not allowed")])
def test_a_refused_page_is_the_projects_403_in_the_users_language(production_errors, language, heading):
    User.objects.create_user(username="someone", password="x")
    client = client_in(language)
    client.force_login(User.objects.get(username="someone"))
    response = client.get("/test-errors/forbidden/")
    assert response.status_code == 403
    body = response.content.decode()
    assert 'data-status="403"' in body and heading in body


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "heading"), [("zh-hans", "出错了"), ("en", "Something went wrong")])
def test_a_server_error_is_the_projects_500_in_the_users_language(production_errors, language, heading):
    response = client_in(language).get("/test-errors/broken/")
    assert response.status_code == 500
    body = response.content.decode()
    assert 'data-status="500"' in body and heading in body and "boom" not in body


def test_the_500_page_renders_without_a_request_or_the_database():
    # No django_db mark: any query would fail the test.
    with translation.override("zh-hans"):
        body = loader.get_template("500.html").render()
    assert "出错了" in body and 'lang="zh-hans"' in body
