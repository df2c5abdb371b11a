"""Command handlers behind `earshot …` (parsing is in __main__.py)."""
