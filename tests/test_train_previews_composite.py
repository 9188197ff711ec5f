"""The composite preview role (inpainting runs): the run-folder format names it, the reader pairs it with its
sample, and the training panel's gallery shows it as a column only for runs that have it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.train.runs.layout import parse_preview_file, preview_file_name
from core.train.runs.reader import PreviewStep

pytest.importorskip("pytestqt")


def write_step(folder: Path, roles: tuple[str, ...], samples: int = 2) -> PreviewStep:
    folder.mkdir(parents=True)
    for i in range(samples):
        for k, role in enumerate(roles):
            Image.fromarray(np.full((16, 24, 3), 30 * k, np.uint8)).save(folder / preview_file_name(i, role))
    return PreviewStep(int(folder.name.split("_")[1]), folder)


def test_the_composite_role_is_part_of_the_format(tmp_path):
    assert preview_file_name(3, "composite") == "03_composite.png"
    assert parse_preview_file("03_composite.png") == (3, "composite")
    step = write_step(tmp_path / "step_00000010", ("input", "output", "composite", "target"))
    sample = step.samples()[0]
    assert (sample.input.name, sample.output.name, sample.composite.name, sample.target.name) == (
        "00_input.png", "00_output.png", "00_composite.png", "00_target.png")
    plain = write_step(tmp_path / "step_00000020", ("input", "output", "target")).samples()[0]
    assert plain.composite is None


def test_the_gallery_shows_a_composite_column_only_where_there_is_one(qtbot, tmp_path):
    from desktop.panels.training_gallery import PreviewGallery

    gallery = PreviewGallery()
    qtbot.addWidget(gallery)
    inpaint = write_step(tmp_path / "step_00000100", ("input", "output", "composite", "target"))
    plain = write_step(tmp_path / "step_00000200", ("input", "output", "target"))
    gallery.set_steps([inpaint, plain])
    gallery.show_step(100)
    rows = gallery.image_labels()
    assert [label.path.name for label in rows[0]] == ["00_input.png", "00_output.png", "00_composite.png",
                                                      "00_target.png"]
    assert all(label.has_image() for label in rows[1])
    assert [label.text() for label in gallery._header_labels] == ["Input", "Output", "Composite", "Target"]
    gallery.show_step(200)
    assert [label.path.name for label in gallery.image_labels()[0]] == ["00_input.png", "00_output.png",
                                                                        "00_target.png"]
    assert [label.text() for label in gallery._header_labels] == ["Input", "Output", "Target"]
