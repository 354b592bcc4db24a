"""The merchant portal's lending pages; mounted in the "portal" namespace."""

from django.urls import path

from lending import views

urlpatterns = [
    path("loans/", views.loans, name="loans"),
    path("loans/draw/<int:line_id>/", views.loan_draw, name="loan-draw"),
    path("loans/<str:reference>/", views.loan_detail, name="loan-detail"),
    path("loans/<str:reference>/repay/", views.loan_repay, name="loan-repay"),
]
