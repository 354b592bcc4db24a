"""Risk control in the workbench: each part registers its models in its own module."""

from riskcontrol import admin_monitoring  # noqa: F401
