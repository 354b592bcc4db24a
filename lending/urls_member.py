"""The B2B member's pages; mounted in the "portal" namespace."""

from django.urls import path

from lending import views_member

urlpatterns = [
    path("apply/member/", views_member.member_apply, name="member-apply"),
    path("applications/<str:reference>/member/", views_member.member_application, name="member-application"),
    path("applications/<str:reference>/interview/", views_member.application_book, name="application-book"),
    path(
        "applications/<str:reference>/documents/",
        views_member.application_documents,
        name="application-documents",
    ),
    path("applications/<str:reference>/accept/", views_member.application_accept, name="application-accept"),
]
