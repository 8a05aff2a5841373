"""Residents' reports: the form (on a phone, in elder mode), the API, routing into incidents, the
resident's own list, and rating the outcome. ``services`` holds the rules; views and API are thin."""
