"""The merchant portal's pages that belong to the merchants app; mounted as namespace "portal"."""

from django.contrib.auth import views as auth_views
from django.urls import path

from merchants import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="portal/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("shop/", views.shop, name="shop"),
    path("enter/<str:token>/", views.enter, name="enter"),
    path("invite/<str:token>/", views.invite, name="invite"),
]
