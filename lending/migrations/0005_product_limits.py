from django.db import migrations, models

B2B_LINE_MIN_FEN = 5_000_000  # 50,000 yuan: the seed's smallest B2B line


def lift_b2b_lines_to_the_seed_minimum(apps, schema_editor):
    """B2B lines start at 50,000 yuan; a revolving line keeps its old minimum as the smallest
    drawdown, so what merchants may draw does not change."""
    Product = apps.get_model("lending", "Product")
    products = Product.objects.filter(
        segment="b2b", amount_min_fen__lt=B2B_LINE_MIN_FEN, amount_max_fen__gte=B2B_LINE_MIN_FEN
    )
    for product in products:
        if product.is_revolving and product.drawdown_min_fen is None:
            product.drawdown_min_fen = product.amount_min_fen
        product.amount_min_fen = B2B_LINE_MIN_FEN
        product.save(update_fields=["drawdown_min_fen", "amount_min_fen"])


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0004_status_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="drawdown_min_fen",
            field=models.BigIntegerField(
                blank=True,
                help_text="the smallest single drawdown when a line is drawn in parts (revolving); "
                "blank: amount_min_fen",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="product",
            name="amount_max_fen",
            field=models.BigIntegerField(help_text="the largest line (and loan) in fen"),
        ),
        migrations.AlterField(
            model_name="product",
            name="amount_min_fen",
            field=models.BigIntegerField(help_text="the smallest line (and loan) in fen"),
        ),
        migrations.RunPython(lift_b2b_lines_to_the_seed_minimum, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="product",
            constraint=models.CheckConstraint(
                condition=models.Q(drawdown_min_fen__isnull=True)
                | models.Q(drawdown_min_fen__gt=0, drawdown_min_fen__lte=models.F("amount_min_fen")),
                name="product_drawdown_min",
            ),
        ),
    ]
