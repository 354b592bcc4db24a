"""The demo's pages, mounted at /demo/ only when the demo app is installed."""

from django.urls import path

from demo import views

urlpatterns = [
    path("advance/", views.advance, name="advance"),
    path("advance/<int:job_id>/", views.advance_job, name="advance-job"),
    path("advance/<int:job_id>/result/", views.advance_result, name="advance-result"),
]
