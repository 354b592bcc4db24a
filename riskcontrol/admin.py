from riskcontrol import admin_network  # noqa: F401
