"""Restoration engines, one module per family, registered explicitly in core.engines.registry."""
