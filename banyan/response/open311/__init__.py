"""Open311 GeoReport v2 under ``/open311/v2/``: reports from outside apps, routed like a resident's."""
