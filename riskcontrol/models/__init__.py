"""Risk control's tables, one module per part: rules, the relationship network, monitoring."""

from riskcontrol.models.monitoring import (
    Level,
    MerchantRisk,
    MonitoringChunk,
    MonitoringRun,
    PartnerNotice,
    RiskAction,
    Warning,
)
from riskcontrol.models.network import NetworkRun, RingFlag
from riskcontrol.models.rules import BlacklistEntry, RuleSet

__all__ = [
    "BlacklistEntry",
    "Level",
    "MerchantRisk",
    "MonitoringChunk",
    "MonitoringRun",
    "NetworkRun",
    "PartnerNotice",
    "RingFlag",
    "RiskAction",
    "RuleSet",
    "Warning",
]
