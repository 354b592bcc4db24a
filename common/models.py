from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class BusinessCalendar(models.Model):
    """The platform's business date (营业日): one row, moved forward only by close of business."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    current_on = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="business_calendar_single_row")]

    def __str__(self) -> str:
        return f"business date {self.current_on:%Y-%m-%d}"
