from django.apps import AppConfig


class RiskcontrolConfig(AppConfig):
    name = "riskcontrol"
