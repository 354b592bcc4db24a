"""Owners become per partner: one row per partner platform and national ID.

Until now an owner was shared by every shop with the same national ID, whichever partner sent
it, so a partner could read (and attach its shop to) another partner's customer. Each existing
owner stays with the partner of its first shop; every other partner whose shops point at it gets
its own copy (same fields as recorded), and its shops are moved to that copy. Questionnaire
answers stay with the original row: which partner's shop they came through is not recorded, so
none is handed to another partner. Two rows of one partner with one national ID become one (the
oldest); an owner without a shop has no partner and is deleted."""

import django.db.models.deletion
from django.db import migrations, models


def owners_split_by_partner(apps, schema_editor):
    Owner = apps.get_model("merchants", "Owner")
    Merchant = apps.get_model("merchants", "Merchant")
    QuestionnaireResponse = apps.get_model("merchants", "QuestionnaireResponse")

    first_partner: dict[int, int] = {}
    pairs: set[tuple[int, int]] = set()
    for owner_id, partner_id in Merchant.objects.order_by("pk").values_list("owner_id", "partner_id").iterator():
        first_partner.setdefault(owner_id, partner_id)
        pairs.add((owner_id, partner_id))
    for owner_id, partner_id in first_partner.items():
        Owner.objects.filter(pk=owner_id).update(partner_id=partner_id)
    for owner_id, partner_id in sorted(pairs):
        if partner_id == first_partner[owner_id]:
            continue
        copy = Owner.objects.get(pk=owner_id)
        copy.pk = copy.id = None
        copy.partner_id = partner_id
        copy.save()
        Merchant.objects.filter(owner_id=owner_id, partner_id=partner_id).update(owner_id=copy.pk)
    Owner.objects.filter(partner__isnull=True).delete()

    keep: dict[tuple[int, str], int] = {}
    for pk, partner_id, index in Owner.objects.order_by("pk").values_list("pk", "partner_id", "national_id_index"):
        kept = keep.setdefault((partner_id, index), pk)
        if kept != pk:
            Merchant.objects.filter(owner_id=pk).update(owner_id=kept)
            QuestionnaireResponse.objects.filter(owner_id=pk).update(owner_id=kept)
            Owner.objects.filter(pk=pk).delete()
    if schema_editor.connection.vendor == "postgresql":
        # Check the moved foreign keys now: the owners table is altered next, in this transaction.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0007_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="owner",
            name="partner",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="owners",
                to="merchants.partnerplatform",
            ),
        ),
        migrations.RunPython(owners_split_by_partner, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="owner",
            name="partner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="owners",
                to="merchants.partnerplatform",
            ),
        ),
        migrations.AddConstraint(
            model_name="owner",
            constraint=models.UniqueConstraint(
                fields=("partner", "national_id_index"), name="owner_partner_national_id"
            ),
        ),
    ]
