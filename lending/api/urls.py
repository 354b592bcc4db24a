from django.urls import path

from lending.api import views

urlpatterns = [
    path("lines/<str:merchant_id>/", views.CreditLineListApi.as_view(), name="api-lines"),
    path("loans/quote/", views.LoanQuoteApi.as_view(), name="api-loan-quote"),
    path("loans/", views.LoanDrawApi.as_view(), name="api-loans"),
    path("loans/<str:reference>/", views.LoanDetailApi.as_view(), name="api-loan"),
    path("loans/<str:reference>/repayments/", views.LoanRepayApi.as_view(), name="api-loan-repayments"),
]
