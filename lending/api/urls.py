from django.urls import path

from lending.api import applications, views

urlpatterns = [
    path("lines/<str:merchant_id>/", views.CreditLineListApi.as_view(), name="api-lines"),
    path("loans/quote/", views.LoanQuoteApi.as_view(), name="api-loan-quote"),
    path("loans/", views.LoanDrawApi.as_view(), name="api-loans"),
    path("loans/<str:reference>/", views.LoanDetailApi.as_view(), name="api-loan"),
    path("loans/<str:reference>/repayments/", views.LoanRepayApi.as_view(), name="api-loan-repayments"),
    path("applications/quote/", applications.ApplicationQuoteApi.as_view(), name="api-application-quote"),
    path("applications/", applications.ApplicationListCreateApi.as_view(), name="api-applications"),
    path(
        "applications/<str:reference>/", applications.ApplicationDetailApi.as_view(), name="api-application"
    ),
    path(
        "applications/<str:reference>/appeal/",
        applications.ApplicationAppealApi.as_view(),
        name="api-application-appeal",
    ),
    path(
        "applications/<str:reference>/withdraw/",
        applications.ApplicationWithdrawApi.as_view(),
        name="api-application-withdraw",
    ),
]
