# Every API token gets an expiry and scopes (issue 10, finding 12). Tokens made before this
# migration keep what they could do (scope "write": everything the role allows) and expire 90 days
# after the migration runs, so gateways have time to be given new, narrower tokens.

import datetime as dt

from django.db import migrations, models

import banyan.people.models
from banyan.core import clock

GRACE = dt.timedelta(days=90)


def expire_existing_tokens(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # The rows updated here must not leave deferred trigger events behind the ALTER TABLE below.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    ApiToken = apps.get_model("people", "ApiToken")
    ApiToken.objects.filter(expires_at__isnull=True).update(expires_at=clock.now() + GRACE)
    ApiToken.objects.filter(is_revoked=True, revoked_at__isnull=True).update(
        revoked_at=models.F("created_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="apitoken",
            options={"verbose_name": "API token"},
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True, verbose_name="expires"),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="revoked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="revoked"),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=models.JSONField(default=banyan.people.models._default_token_scopes, verbose_name="scopes"),
        ),
        migrations.RunPython(expire_existing_tokens, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(verbose_name="expires"),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="created_at",
            field=models.DateTimeField(verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="last_used_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last used"),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="name",
            field=models.CharField(blank=True, max_length=100, verbose_name="name"),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="prefix",
            field=models.CharField(max_length=8, verbose_name="prefix"),
        ),
    ]
