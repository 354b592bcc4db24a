from riskcontrol.models.network import NetworkRun, RingFlag
from riskcontrol.models.rules import BlacklistEntry, RuleSet

__all__ = ["BlacklistEntry", "NetworkRun", "RingFlag", "RuleSet"]
