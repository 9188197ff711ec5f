"""Inpainting engines."""
