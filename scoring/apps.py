from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring 评分"

    def ready(self) -> None:
        from scoring import receivers  # noqa: F401 (connects the receivers)
