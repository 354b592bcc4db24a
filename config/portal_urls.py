"""The merchant portal: each app contributes its pages; all live in the "portal" namespace."""

from lending.urls import urlpatterns as lending_pages
from lending.urls_member import urlpatterns as member_pages
from merchants.urls import urlpatterns as merchant_pages
from payments.urls import urlpatterns as payment_pages
from riskcontrol.urls_portal import urlpatterns as risk_pages
from scoring.urls import urlpatterns as scoring_pages

urlpatterns = [*merchant_pages, *payment_pages, *lending_pages, *member_pages, *scoring_pages, *risk_pages]
