"""The open document, Qt-free: the photo's versions (engine, parameters, notes, parent), the mask with its
per-stroke undo history, and the face regions, each announcing changes through a small event emitter. The
desktop only renders it; session recovery serialises it."""
