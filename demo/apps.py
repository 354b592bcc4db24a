from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: the marketplace simulator, its borrowers, logins and commands. It stands above
    the production apps and listens to the hooks they offer; none of them imports it, and a
    production install leaves it out of INSTALLED_APPS (XIAODAI_DEMO=0)."""

    name = "demo"
    verbose_name = "Demo 演示"

    def ready(self) -> None:
        from demo import receivers  # noqa: F401 - connects the signal receivers
