"""The reads a listing job makes, in a worker thread (each may import torch): the store's models and
problems, the download catalog, and the titles of the built-in engines that take store models as weights.

A failure to read the catalog or the engine titles is returned in words, never swallowed: the dialog
shows it in its banner.
"""

from __future__ import annotations

from typing import Any

from desktop.dialogs.models.rows import Listing


def load_catalog() -> list[Any]:
    from core.store.catalog import catalog

    return list(catalog())


def dedicated_engine_titles() -> dict[str, str]:
    """Architecture -> title of the built-in engine that serves it (its store models are weight choices)."""
    from core.engines.lowlight import lowlight_engines
    from core.engines.registry import dedicated_architectures

    served = dedicated_architectures()
    return {a: str(e.title) for e in lowlight_engines() if (a := getattr(e, "architecture", None)) in served}


def read_listing(store: Any, *, want_catalog: bool, want_engines: bool) -> Listing:
    listing = Listing(entries=list(store.list()), problems=[str(p) for p in getattr(store, "problems", None) or ()])
    if want_catalog:
        try:
            listing.catalog = load_catalog()
        except Exception as e:  # noqa: BLE001  (any failure here must reach the user, not empty the list)
            listing.catalog_error = f"The download catalog could not be loaded ({type(e).__name__}: {e})."
    if want_engines:
        try:
            listing.engine_titles = dedicated_engine_titles()
        except Exception as e:  # noqa: BLE001
            listing.engine_error = f"Which engine runs each model could not be worked out ({type(e).__name__}: {e})."
    return listing
