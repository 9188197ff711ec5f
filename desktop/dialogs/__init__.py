"""Dialogs: export, shortcuts help, model manager, batch processing."""
