"""Risk control in the workbench: each part registers its models in its own module."""

from riskcontrol import (
    admin_monitoring,  # noqa: F401 - warnings, merchant risk, actions
    admin_network,  # noqa: F401 - network runs and ring flags
    admin_rules,  # noqa: F401 - rule sets and the blacklist
)
