"""Measuring restoration engines on folders of photos (paired, unpaired or synthetic)."""
