"""Risk control's pages in the merchant portal ("portal" namespace)."""

from django.urls import path

from riskcontrol import views_home, views_portal

urlpatterns = [
    # The merchant's home page; "/" (merchants.views.home) sends merchants here.
    path("overview/", views_home.home, name="overview"),
    path("risk/", views_portal.risk_notice, name="risk-notice"),
]
