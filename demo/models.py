from django.db import models


class SimulatorState(models.Model):
    """Where the demo marketplace stands: its seed and the last day it traded (one row)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    seed = models.BigIntegerField()
    started_on = models.DateField()
    last_simulated_on = models.DateField()
    partner_api_keys = models.JSONField(
        default=dict,
        blank=True,
        help_text="the demo partners' API keys as issued at seed, so run_demo can print them (demo only)",
    )

    def __str__(self) -> str:
        return f"simulated through {self.last_simulated_on}"
