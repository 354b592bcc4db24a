from riskcontrol import admin_network  # noqa: F401 - registers the network runs and ring flags
from riskcontrol import admin_rules  # noqa: F401 - registers the rule sets and the blacklist
