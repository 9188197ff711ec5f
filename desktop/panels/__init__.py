"""Side panels: restore, mask tools, versions, models, training."""
