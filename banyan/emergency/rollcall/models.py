"""Models of rollcall (see the package)."""
