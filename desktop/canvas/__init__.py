"""The photo canvas: viewing, zoom and pan, mask painting, face boxes and before/after comparison."""
