from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def create_cache_table(sender, using="default", **kwargs):
    """After ``banyan migrate``: the table of a database cache (``BANYAN_CACHE=database``), if one is
    configured and missing; nothing otherwise (Django's ``createcachetable`` is idempotent). Django
    signals once per app with models (core has none): done once, for the audit app."""
    if sender.label == "audit":
        call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "banyan.core"
    label = "core"
    verbose_name = _("Banyan core")

    def ready(self):
        post_migrate.connect(create_cache_table, dispatch_uid="banyan-cache-table")

        from banyan.core import middleware

        middleware.connect_signals()  # the session's start and last request, at sign-in
