"""The fuzz regression corpus: every input that ever failed a fuzz or attack test, run on every test run.

tests/data/fuzz-corpus/<target>/ holds small files: images (decode_photo), masks (load_mask and
read_mask_levels), checkpoints (read_state_dict and the model store's import) and store (the import alone).
A new failure joins the corpus with RESTORA_FUZZ_SAVE=1 (tests/fuzzing.py), or by hand.
"""

from __future__ import annotations

import shutil

import pytest

from tests.fuzzing import (
    MAX_DECODE_BYTES,
    check_checkpoint,
    check_image,
    check_mask_file,
    check_store_import,
    corpus_files,
)

CASES = [pytest.param(target, path, id=f"{target}/{path.name}")
         for target in ("images", "masks", "checkpoints", "store") for path in corpus_files(target)]


def test_the_corpus_is_there():
    targets = {case.values[0] for case in CASES}
    assert {"images", "masks", "checkpoints"} <= targets


@pytest.mark.parametrize("target, path", CASES)
def test_corpus_input(target, path, tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORA_MAX_DECODE_BYTES", str(MAX_DECODE_BYTES))
    if target == "images":
        check_image(path.read_bytes())
        return
    copy = tmp_path / path.name  # the checks may write beside the file (the store copies it)
    shutil.copyfile(path, copy)
    if target == "masks":
        check_mask_file(copy, (12, 10))
        check_mask_file(copy, (3, 4))
    elif target == "checkpoints":
        check_checkpoint(copy)
        check_store_import(copy)
    else:
        check_store_import(copy)
