from django.urls import path

from riskcontrol.api import views

urlpatterns = [
    path("merchants/<str:external_id>/risk/", views.MerchantRiskApi.as_view(), name="api-merchant-risk"),
]
