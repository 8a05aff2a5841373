"""Models of shelters (see the package)."""
