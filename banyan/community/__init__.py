"""Community life and participation (issue 16): the time bank (``banyan.community.timebank``) and the
owners' votes (``banyan.community.votes``), each a sub-app with its own label and migrations."""
