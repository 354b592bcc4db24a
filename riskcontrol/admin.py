from riskcontrol import admin_rules  # noqa: F401 - registers the rule sets and the blacklist
