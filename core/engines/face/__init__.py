"""Face restoration: detection with landmarks (detect.py, haar.py, yunet.py), alignment to the template a
restorer expects (align.py), the restorers (restorers.py, builtin.py), paste-back with a soft face mask and
colour matching (paste.py), and the engine that ties them together (engine.py, `face.restore`)."""
