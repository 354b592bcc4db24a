from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments 支付与账务"

    def ready(self) -> None:
        from payments import receivers  # noqa: F401 - connects the signal receivers
