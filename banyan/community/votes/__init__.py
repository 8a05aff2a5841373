"""Owners' votes (issue 16, Must have 6): the counting core (``tally``) that the web votes and
``banyan tally FILE.json`` share."""
