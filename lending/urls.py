"""The merchant portal's lending pages; mounted in the "portal" namespace."""

from django.urls import path, register_converter

from lending import views, views_apply, views_documents


class DocumentFormat:
    """A downloadable document's format in its address: pdf or csv."""

    regex = "pdf|csv"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(DocumentFormat, "docformat")

urlpatterns = [
    path("loans/", views.loans, name="loans"),
    path("loans/draw/<int:line_id>/", views.loan_draw, name="loan-draw"),
    path("loans/<str:reference>/", views.loan_detail, name="loan-detail"),
    path("loans/<str:reference>/repay/", views.loan_repay, name="loan-repay"),
    path(
        "loans/<str:reference>/agreement.pdf", views_documents.loan_agreement_pdf, name="loan-agreement-pdf"
    ),
    path(
        "loans/<str:reference>/statement.<docformat:fmt>",
        views_documents.loan_statement,
        name="loan-statement",
    ),
    path("loans/<str:reference>/pledges/", views_documents.loan_pledges, name="loan-pledges"),
    path("statements/", views_documents.statements, name="statements"),
    path("statements/download.<docformat:fmt>", views_documents.statement_month, name="statement-month"),
    path("apply/", views_apply.apply, name="apply"),
    path("apply/terms/", views_apply.apply_terms, name="apply-terms"),
    path("applications/", views_apply.applications, name="applications"),
    path("applications/<str:reference>/", views_apply.application_detail, name="application"),
    path("applications/<str:reference>/status/", views_apply.application_status, name="application-status"),
    path("applications/<str:reference>/draw/", views_apply.application_draw, name="application-draw"),
    path("applications/<str:reference>/appeal/", views_apply.application_appeal, name="application-appeal"),
    path(
        "applications/<str:reference>/withdraw/",
        views_apply.application_withdraw,
        name="application-withdraw",
    ),
]
