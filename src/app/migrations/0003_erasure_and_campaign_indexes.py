from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0002_nightly_maintenance")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="ContactTag",
            index=Index(fields=["contact_id"]),
        ),
        ops.AddIndex(
            model_name="EmailEvent",
            index=Index(fields=["account_id", "campaign", "occurred_at"]),
        ),
        ops.AddIndex(
            model_name="EmailEvent",
            index=Index(fields=["contact_id"]),
        ),
        ops.AddIndex(
            model_name="OwnedProduct",
            index=Index(fields=["contact_id"]),
        ),
        ops.AddIndex(
            model_name="Purchase",
            index=Index(fields=["contact_id"]),
        ),
    ]
