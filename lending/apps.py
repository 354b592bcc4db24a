from django.apps import AppConfig


class LendingConfig(AppConfig):
    name = "lending"
    verbose_name = "Lending 信贷"

    def ready(self) -> None:
        from lending import receivers  # noqa: F401 - connects the signal receivers
