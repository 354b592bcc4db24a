from riskcontrol.models.network import NetworkRun, RingFlag  # noqa: F401
