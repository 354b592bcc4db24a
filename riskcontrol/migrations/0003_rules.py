"""Rule sets and the blacklist, the first active rule set with the documented defaults
(docs/risk.md, "Rules and pre-loan checks"), and the roles again so risk managers get the new
models' permissions."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from common.roles import roles_migrate

# The defaults as they stood when this migration was written (riskcontrol.rulesets.PARAMS).
FIRST_PARAMS = {
    "identity_required_kinds_b2c": [],
    "identity_required_kinds_b2b": [],
    "identity_decline_on_failed": ["business_licence", "tax"],
    "velocity_window_days": 30,
    "velocity_max_national_id": 8,
    "velocity_max_phone": 8,
    "velocity_max_bank_card": 8,
    "antifraud_window_days": 90,
    "antifraud_min_orders": 20,
    "antifraud_linked_refer": "0.05",
    "antifraud_linked_decline": "0.2",
    "antifraud_repeat_norm": "0.05",
    "antifraud_repeat_refer_multiple": "4",
    "antifraud_repeat_decline_multiple": "10",
    "antifraud_unshipped_refer": "0.02",
    "antifraud_unshipped_decline": "0.1",
    "antifraud_refund_hours": 48,
    "antifraud_quick_refund_refer": "0.05",
    "antifraud_quick_refund_decline": "0.2",
    "group_limit_fen": 500_000_000,
    "policy_min_shop_age_days": 90,
    "policy_sales_window_days": 180,
    "policy_min_days_with_sales": 20,
}


def first_rule_set(apps, schema_editor):
    from django.utils import timezone

    rule_set = apps.get_model("riskcontrol", "RuleSet")
    if not rule_set.objects.exists():
        rule_set.objects.create(
            version=1,
            status="active",
            params=FIRST_PARAMS,
            note="documented defaults 默认阈值",
            activated_at=timezone.now(),
        )


class Migration(migrations.Migration):

    dependencies = [
        ('riskcontrol', '0002_roles_four_eyes_and_invitations'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BlacklistEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('national_id', 'National ID 身份证号'), ('phone', 'Phone 手机号'), ('bank_card', 'Bank card 银行卡号'), ('device', 'Device 设备')], max_length=12)),
                ('value_index', models.CharField(help_text='blind index of the normalised value', max_length=64)),
                ('value_hint', models.CharField(blank=True, help_text='masked, for people to recognise it', max_length=40)),
                ('reason', models.CharField(max_length=200)),
                ('added_at', models.DateTimeField(auto_now_add=True)),
                ('is_active', models.BooleanField(default=True)),
                ('added_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'blacklist entry 黑名单',
                'verbose_name_plural': 'blacklist 黑名单',
                'indexes': [models.Index(fields=['value_index'], name='riskcontrol_value_i_f715d8_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('is_active', True)), fields=('kind', 'value_index'), name='blacklist_active_once')],
            },
        ),
        migrations.CreateModel(
            name='RuleSet',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField(unique=True)),
                ('status', models.CharField(choices=[('draft', 'Draft 草稿'), ('active', 'Active 生效'), ('retired', 'Retired 已停用')], default='draft', max_length=8)),
                ('params', models.JSONField(help_text='every threshold, by name (riskcontrol.rulesets.PARAMS)')),
                ('note', models.CharField(blank=True, help_text='why it changed', max_length=500)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('activated_at', models.DateTimeField(blank=True, null=True)),
                ('retired_at', models.DateTimeField(blank=True, null=True)),
                ('activated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('based_on', models.ForeignKey(blank=True, help_text='the set this one was copied from', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='riskcontrol.ruleset')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'rule set 规则集',
                'ordering': ['-version'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('status', 'active')), fields=('status',), name='ruleset_one_active'), models.UniqueConstraint(condition=models.Q(('status', 'draft')), fields=('status',), name='ruleset_one_draft')],
            },
        ),
        migrations.RunPython(first_rule_set, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(roles_migrate, migrations.RunPython.noop, elidable=True),
    ]
