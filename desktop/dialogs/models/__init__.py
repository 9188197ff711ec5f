"""The Models dialog, in parts: rows.py (what is shown, Qt-free), listing.py (the reads a job makes),
table.py, installed_tab.py, download_tab.py, and dialog.py (ModelManagerDialog: the jobs and the composition)."""

from desktop.dialogs.models.dialog import ModelManagerDialog, default_store
from desktop.dialogs.models.rows import CHECKPOINT_FILTER, human_size, is_checkpoint

__all__ = ["CHECKPOINT_FILTER", "ModelManagerDialog", "default_store", "human_size", "is_checkpoint"]
