from riskcontrol.models.monitoring import *  # noqa: F403
