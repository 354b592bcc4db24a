from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments and accounts")

    def ready(self) -> None:
        from payments import receivers  # noqa: F401 - connects the signal receivers
        from payments.audit_labels import register

        register()
