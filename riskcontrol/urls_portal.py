"""Risk control's pages in the merchant portal ("portal" namespace)."""

from django.urls import path

from riskcontrol import views_portal

urlpatterns = [path("risk/", views_portal.risk_notice, name="risk-notice")]
