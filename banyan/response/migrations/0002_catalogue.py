from django.db import migrations

from banyan.response.catalogue import load


class Migration(migrations.Migration):
    dependencies = [("response", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
