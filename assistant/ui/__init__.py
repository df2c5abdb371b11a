"""The Textual terminal UI: a view over the same pipeline and events as the CLI, never a second
implementation. Imported lazily (only `earshot` on a terminal needs Textual)."""
