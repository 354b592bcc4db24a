from django.urls import path

from merchants.api import signals, views
from merchants.webhooks import api as webhooks_api

urlpatterns = [
    path("merchants/", views.MerchantListCreateApi.as_view(), name="api-merchants"),
    path("merchants/<str:external_id>/", views.MerchantDetailApi.as_view(), name="api-merchant"),
    path(
        "merchants/<str:external_id>/portal-link/",
        views.MerchantPortalLinkApi.as_view(),
        name="api-merchant-portal-link",
    ),
    path("orders/", views.OrderCreateApi.as_view(), name="api-orders"),
    path("orders/batch/", views.OrderBatchApi.as_view(), name="api-orders-batch"),
    path("orders/<str:external_id>/", views.OrderDetailApi.as_view(), name="api-order"),
    path("orders/<str:external_id>/status/", views.OrderStatusApi.as_view(), name="api-order-status"),
    path("refunds/", signals.RefundBatchApi.as_view(), name="api-refunds"),
    path("complaints/", signals.ComplaintBatchApi.as_view(), name="api-complaints"),
    path("ratings/", signals.RatingBatchApi.as_view(), name="api-ratings"),
    path("logistics-events/", signals.LogisticsEventBatchApi.as_view(), name="api-logistics-events"),
    path("verifications/", signals.VerificationBatchApi.as_view(), name="api-verifications"),
    path("financials/", signals.FinancialsBatchApi.as_view(), name="api-financials"),
    path("merchant-status/", signals.MerchantStatusBatchApi.as_view(), name="api-merchant-status"),
    path("devices/", signals.DeviceBatchApi.as_view(), name="api-devices"),
    path("guarantees/", signals.GuaranteeBatchApi.as_view(), name="api-guarantees"),
]

# Webhooks: the partner's own endpoints and the events sent to it (merchants/webhooks/api.py).
urlpatterns += [
    path(
        "webhooks/endpoints/",
        webhooks_api.WebhookEndpointListCreateApi.as_view(),
        name="api-webhook-endpoints",
    ),
    path(
        "webhooks/endpoints/<int:pk>/",
        webhooks_api.WebhookEndpointDetailApi.as_view(),
        name="api-webhook-endpoint",
    ),
    path(
        "webhooks/endpoints/<int:pk>/rotate-secret/",
        webhooks_api.WebhookEndpointRotateSecretApi.as_view(),
        name="api-webhook-endpoint-rotate",
    ),
    path("webhooks/events/", webhooks_api.WebhookEventListApi.as_view(), name="api-webhook-events"),
]
