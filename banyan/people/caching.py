"""Answers that carry clear personal data are never kept by a browser, a proxy or a history."""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers


def no_store(response):
    """``Cache-Control: no-store`` (with no-cache, must-revalidate, private) and ``Pragma: no-cache``."""
    add_never_cache_headers(response)
    response["Pragma"] = "no-cache"
    return response
