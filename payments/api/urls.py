from django.urls import path

from payments.api import views

urlpatterns = [
    path("settlements/", views.SettlementCreateApi.as_view(), name="api-settlements"),
    path("wallets/<str:merchant_id>/", views.WalletDetailApi.as_view(), name="api-wallet"),
    path(
        "wallets/<str:merchant_id>/movements/",
        views.WalletMovementsApi.as_view(),
        name="api-wallet-movements",
    ),
]
