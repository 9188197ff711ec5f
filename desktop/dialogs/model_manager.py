"""The model manager dialog; its parts live in desktop/dialogs/models/. This module keeps the old names."""

from desktop.dialogs.models import CHECKPOINT_FILTER, ModelManagerDialog, default_store, human_size, is_checkpoint
from desktop.dialogs.models.listing import load_catalog as default_catalog

__all__ = ["CHECKPOINT_FILTER", "ModelManagerDialog", "default_catalog", "default_store", "human_size",
           "is_checkpoint"]
