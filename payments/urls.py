from django.urls import path

from payments import views

urlpatterns = [
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/withdraw/", views.wallet_withdraw, name="wallet-withdraw"),
]
