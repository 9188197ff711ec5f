"""The model store: import, list, load and remove weight files (store.py, manifest.py), the catalog of
well-known checkpoints (catalog.py) and the downloader (downloads.py)."""

from core.store.manifest import ModelEntry
from core.store.store import ModelNotFoundError, ModelStore, StoreError

__all__ = ["ModelEntry", "ModelNotFoundError", "ModelStore", "StoreError"]
