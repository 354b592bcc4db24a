"""Risk control's pages, mounted at /risk/network/ in the "risknet" namespace."""

from django.urls import path

from riskcontrol import views_network

urlpatterns = [
    path("<int:merchant_id>/", views_network.merchant_network, name="merchant-network"),
]
