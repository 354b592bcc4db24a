from django.urls import path

from scoring.api import views

urlpatterns = [
    path("merchants/<str:external_id>/offers/", views.OfferListApi.as_view(), name="api-merchant-offers"),
]
