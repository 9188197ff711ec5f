"""The model framework: the descriptor that carries every fact about a network, safe checkpoint reading,
and running a described network on pixels (device, precision, size rules, tiling, masks)."""
