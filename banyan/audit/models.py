"""The append-only, hash-chained audit log. See docs/adr/0004-audit-chain.md."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AuditEntry(models.Model):
    """One audited event. ``hash`` covers every column and ``prev_hash`` links the chain.

    Ids are assigned by :func:`banyan.audit.services.record` under the chain lock and run
    1, 2, 3 … without gaps, so a removed entry is visible even at the end of the chain.
    Personal values are never stored here: ``details`` holds field names and non-personal values.
    """

    id = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(_("at"))
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(_("actor"), max_length=150)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=32)
    subject_id = models.CharField(_("subject id"), max_length=64)
    purpose = models.CharField(_("purpose"), max_length=500, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="audit_subject_idx")]

    def save(self, *args, **kwargs):
        if not kwargs.pop("_append", False):
            raise AppendOnlyError("audit entries are written only by banyan.audit.services.record")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")


class ChainHead(models.Model):
    """The single row that serialises appends and remembers the last entry's id and hash."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
