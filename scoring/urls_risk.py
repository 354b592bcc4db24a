"""Risk managers' pages, mounted at /risk/ in the "risk" namespace."""

from django.urls import path

from scoring import views_portfolio, views_risk

urlpatterns = [
    path("portfolio/", views_portfolio.portfolio, name="portfolio"),
    path("sandbox/", views_risk.sandbox, name="sandbox"),
    path("sandbox/<int:run_id>/", views_risk.sandbox_run, name="sandbox-run"),
    path("sandbox/<int:run_id>/result/", views_risk.sandbox_run_result, name="sandbox-run-result"),
    path("sandbox/<int:run_id>/status.json", views_risk.sandbox_run_status, name="sandbox-run-status"),
    path("training/", views_risk.training, name="training"),
    path("training/<int:job_id>/", views_risk.training_job, name="training-job"),
    path("training/<int:job_id>/result/", views_risk.training_result, name="training-result"),
]
