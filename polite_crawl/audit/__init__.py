"""The decision log. See docs/audit.md."""
