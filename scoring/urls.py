"""The merchant portal's credit pages (offers); mounted in the "portal" namespace. The home page
(/overview/) is riskcontrol's: it shows risk notices beside the offers."""

from django.urls import path

from scoring import views

urlpatterns = [
    path("credit/", views.offers, name="credit"),
    path("credit/ask/", views.credit_ask, name="credit-ask"),
    path("credit/offers/<int:offer_id>/accept/", views.offer_accept, name="offer-accept"),
    path("credit/offers/<int:offer_id>/decline/", views.offer_decline, name="offer-decline"),
]
