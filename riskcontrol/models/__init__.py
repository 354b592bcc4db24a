from riskcontrol.models.rules import BlacklistEntry, RuleSet

__all__ = ["BlacklistEntry", "RuleSet"]
