"""Common 0001-0006 in one migration for a new database, squashed (`manage.py squashmigrations`,
then its schema operations regenerated from the state the originals lead to). The originals stay
for databases part-way through them; their data steps only changed existing rows and are elided.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [
        ("common", "0001_initial"),
        ("common", "0002_approval_request"),
        ("common", "0003_idempotency_record"),
        ("common", "0004_job"),
        ("common", "0005_english_labels"),
        ("common", "0006_job_lock"),
    ]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BusinessCalendar",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("current_on", models.DateField()),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="business_calendar_single_row")
                ],
            },
        ),
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "scope",
                    models.CharField(help_text='whose keys these are, e.g. "partner:12"', max_length=64),
                ),
                ("endpoint", models.CharField(help_text='the operation, e.g. "loans.draw"', max_length=64)),
                ("idempotency_key", models.CharField(max_length=80)),
                (
                    "fingerprint",
                    models.CharField(help_text="SHA-256 of the request's path and body", max_length=64),
                ),
                (
                    "field_digests",
                    models.JSONField(default=dict, help_text="a short digest per top-level field"),
                ),
                ("response_status", models.PositiveSmallIntegerField(default=0)),
                ("response_body", models.JSONField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "indexes": [models.Index(fields=["created_at"], name="idempotency_record_created")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("scope", "endpoint", "idempotency_key"), name="idempotency_record_key"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ApprovalRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "action",
                    models.CharField(help_text="a name registered in FOUR_EYES_ACTIONS", max_length=64),
                ),
                (
                    "target",
                    models.CharField(help_text='what it changes, e.g. "lending.Loan:123"', max_length=200),
                ),
                ("amount_fen", models.BigIntegerField(blank=True, null=True)),
                ("params", models.JSONField(default=dict, help_text="plain values the executor needs")),
                ("reason", models.CharField(max_length=500)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("approved", "Approved"),
                            ("rejected", "Rejected"),
                            ("failed", "Failed"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="pending",
                        max_length=20,
                    ),
                ),
                ("requested_at", models.DateTimeField(auto_now_add=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "decided_on",
                    models.DateField(blank=True, help_text="business date of the decision", null=True),
                ),
                ("decision_note", models.CharField(blank=True, max_length=500)),
                (
                    "result",
                    models.JSONField(
                        blank=True, help_text="what the executor did, or why it refused", null=True
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="approval_requests_decided",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="approval_requests_made",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "permissions": [("approve_request", "Can approve or reject a four-eyes request")],
                "indexes": [models.Index(fields=["status"], name="approval_request_status")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("decided_by__isnull", True),
                            models.Q(("decided_by", models.F("requested_by")), _negated=True),
                            _connector="OR",
                        ),
                        name="approval_request_second_person",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("amount_fen__isnull", True), ("amount_fen__gte", 0), _connector="OR"
                        ),
                        name="approval_request_amount_non_negative",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("status", "pending")),
                        fields=("action", "target"),
                        name="approval_request_one_pending",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Job",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(help_text='what runs, e.g. "scoring.sandbox"', max_length=64)),
                (
                    "subject",
                    models.CharField(
                        blank=True, help_text='what it works on, e.g. "sandbox:12"', max_length=100
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=10,
                    ),
                ),
                ("done", models.PositiveIntegerField(default=0)),
                (
                    "total",
                    models.PositiveIntegerField(default=0, help_text="0 while the size is not known yet"),
                ),
                ("message", models.CharField(blank=True, max_length=200)),
                ("message_params", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
                ("result", models.JSONField(blank=True, default=dict)),
                (
                    "result_url",
                    models.CharField(
                        blank=True, help_text="an HTML fragment shown when done", max_length=300
                    ),
                ),
                (
                    "worker",
                    models.CharField(
                        blank=True, help_text="the Celery worker (hostname) running it", max_length=200
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                (
                    "heartbeat_at",
                    models.DateTimeField(blank=True, help_text="the worker's last sign of life", null=True),
                ),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "lock",
                    models.CharField(
                        blank=True,
                        help_text="jobs with the same lock never run together: one queued or running at a time",
                        max_length=100,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["subject"], name="job_subject"),
                    models.Index(fields=["status", "worker"], name="job_status_worker"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("total", 0), ("done__lte", models.F("total")), _connector="OR"),
                        name="job_done_within_total",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(
                            ("status__in", ["queued", "running"]), models.Q(("lock", ""), _negated=True)
                        ),
                        fields=("lock",),
                        name="job_one_active_per_lock",
                    ),
                ],
            },
        ),
    ]
