"""In-situ samples (stub until implemented)."""
