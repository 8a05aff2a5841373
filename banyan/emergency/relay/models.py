"""Models of relay (see the package)."""
