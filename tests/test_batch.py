"""core.batch: planning (structure kept, collisions and inputs refused), sharding, per-photo failures, cancel."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from core.batch import BatchConflictError, BatchError, BatchListener, Shard, parse_shard, plan_batch, run_batch
from core.engines.base import Engine, EngineResult, Requirements
from core.errors import CancelledError


class Invert(Engine):
    id = "test.invert"
    task = "general"
    title = "Invert"

    def __init__(self, device=None) -> None:
        super().__init__(device)
        self.seen: list[str] = []

    def process(self, request):
        self.seen.append(request.photo.meta.source_path.name)
        request.progress(1, 2, "half way")
        return EngineResult(request.photo.with_rgb(1.0 - request.photo.rgb))


class NeedsMask(Engine):
    id = "test.masked"
    task = "inpaint"
    title = "Masked fill"
    requirements = Requirements(needs_mask=True)

    def process(self, request):
        rgb = request.photo.rgb.copy()
        rgb[request.mask == 255] = 0.0
        return EngineResult(request.photo.with_rgb(rgb))


def _photo(path, seed=0, size=(12, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    img = (rng.random((*size, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(path)
    return img


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"))


def _tree(root):
    return sorted(str(p.relative_to(root)).replace(os.sep, "/") for p in root.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------------------ planning

def test_recursive_keeps_the_sub_folder_structure_so_same_names_never_collide(tmp_path):
    src, out = tmp_path / "scans", tmp_path / "out"
    one = _photo(src / "day1" / "IMG_0001.png", 1)
    two = _photo(src / "day2" / "IMG_0001.png", 2)
    _photo(src / "top.png", 3)
    flat = plan_batch([src], out)
    assert [i.name for i in flat.items] == ["top.png"]  # without --recursive, sub-folders are not entered
    plan = plan_batch([src], out, recursive=True)
    assert [str(i.relative) for i in plan.items] == ["day1/IMG_0001.png", "day2/IMG_0001.png", "top.png"]
    assert [i.index for i in plan.items] == [0, 1, 2] and not plan.conflicts
    report = run_batch(plan, Invert())
    assert len(report.written) == 3 and not report.failures
    assert np.array_equal(_pixels(out / "day1" / "IMG_0001.png"), 255 - one)
    assert np.array_equal(_pixels(out / "day2" / "IMG_0001.png"), 255 - two)


def test_output_names_follow_format_and_suffix(tmp_path):
    _photo(tmp_path / "in" / "a.png")
    plan = plan_batch([tmp_path / "in"], tmp_path / "out", fmt="jpg", suffix="_bright")
    assert plan.items[0].target == tmp_path / "out" / "a_bright.jpg"
    with pytest.raises(BatchError, match="suffix"):
        plan_batch([tmp_path / "in"], tmp_path / "out", suffix="x/y")


def test_colliding_results_refuse_the_whole_batch(tmp_path):
    _photo(tmp_path / "a" / "x.png", 1)
    _photo(tmp_path / "b" / "x.png", 2)
    _photo(tmp_path / "b" / "y.png", 3)
    out = tmp_path / "out"
    plan = plan_batch([tmp_path / "a", tmp_path / "b"], out)
    assert len(plan.conflicts) == 1 and "x.png" in plan.conflicts[0] and "both" in plan.conflicts[0]
    with pytest.raises(BatchConflictError, match="Nothing was done"):
        run_batch(plan, Invert())
    assert not out.exists()  # refused before any work: not even the folder
    # names that differ only in case are one file on many systems: refused too
    _photo(tmp_path / "c" / "Y.PNG", 4)
    assert plan_batch([tmp_path / "b", tmp_path / "c"], out).conflicts


def test_a_result_never_replaces_an_input_even_with_overwrite(tmp_path):
    src = tmp_path / "in"
    _photo(src / "a.png", 1)
    _photo(src / "a_x.png", 2)  # another input, named like a.png's result with suffix _x
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    same = plan_batch([src], src)
    assert len(same.conflicts) == 2 and all("its own original" in c for c in same.conflicts)
    plan = plan_batch([src], src, suffix="_x")
    assert any("another input" in c and "a_x.png" in c for c in plan.conflicts)
    for p in (same, plan):
        with pytest.raises(BatchConflictError):
            run_batch(p, Invert(), overwrite=True)
    link = tmp_path / "link"
    link.symlink_to(src, target_is_directory=True)  # the input folder under another name
    assert plan_batch([src], link).conflicts
    mask = tmp_path / "masks" / "a.png"  # a result must not replace a mask either
    _photo(mask)
    assert any("the mask" in c for c in plan_batch([src / "a.png"], tmp_path / "masks", mask=mask).conflicts)
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before


def test_overwrite_replaces_only_earlier_results(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    img = _photo(src / "a.png")
    _photo(out / "a.png", seed=9)  # an earlier result
    plan = plan_batch([src], out)
    report = run_batch(plan, Invert())
    assert not report.written and "already exists" in report.failed[0].reason
    assert run_batch(plan, Invert(), overwrite=True).written == [out / "a.png"]
    assert np.array_equal(_pixels(out / "a.png"), 255 - img)
    with pytest.raises(BatchError, match="not both"):
        run_batch(plan, Invert(), overwrite=True, skip_done=True)


def test_masks_beside_photos_in_a_folder_or_one_for_all(tmp_path):
    src = tmp_path / "in"
    _photo(src / "a.png")
    _photo(src / "sub" / "b.jpg")
    hole = np.zeros((12, 16), np.uint8)
    hole[2:5, 3:7] = 255
    Image.fromarray(hole).save(src / "a_mask.png")  # the desktop's convention
    plan = plan_batch([src], tmp_path / "out", recursive=True)
    assert [i.name for i in plan.items] == ["a.png", "sub/b.jpg"]  # a_mask.png is not a photo
    assert plan.items[0].mask == src / "a_mask.png" and plan.items[1].mask is None
    report = run_batch(plan, NeedsMask())
    assert report.written == [tmp_path / "out" / "a.png"]
    assert "needs a mask" in report.failed[0].reason and report.failed[0].name == "sub/b.jpg"
    assert (_pixels(tmp_path / "out" / "a.png")[hole == 255] == 0).all()

    masks = tmp_path / "masks"
    (masks / "sub").mkdir(parents=True)
    Image.fromarray(hole).save(masks / "a.png")  # NAME.* in a mask folder
    Image.fromarray(hole).save(masks / "sub" / "b_mask.png")  # NAME_mask.* in the same sub-folder
    plan = plan_batch([src], tmp_path / "out2", recursive=True, mask=masks)
    assert [i.mask for i in plan.items] == [masks / "a.png", masks / "sub" / "b_mask.png"]
    assert all(i.mask_given for i in plan.items)
    _photo(src / "sub" / "c.png")
    report = run_batch(plan_batch([src], tmp_path / "out2", recursive=True, mask=masks), NeedsMask())
    assert len(report.written) == 2 and f"no c_mask.* or c.* in {masks}" in report.failed[0].reason
    one = plan_batch([src], tmp_path / "out3", recursive=True, mask=masks / "a.png")
    assert {i.mask for i in one.items} == {masks / "a.png"}
    with pytest.raises(BatchError, match="does not exist"):
        plan_batch([src], tmp_path / "out4", mask=tmp_path / "nope.png")


def test_mask_folder_inside_the_input_folder_is_not_taken_as_photos(tmp_path):
    src = tmp_path / "in"
    _photo(src / "a.png")
    _photo(src / "masks" / "a.png")
    plan = plan_batch([src], tmp_path / "out", recursive=True, mask=src / "masks")
    assert [i.name for i in plan.items] == ["a.png"]
    _photo(src / "restored" / "a.png")  # an earlier run's result, in an output folder inside the input folder
    again = plan_batch([src], src / "restored", recursive=True)
    assert [i.name for i in again.items] == ["a.png", "masks/a.png"] and not again.conflicts


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_unusable_inputs_are_listed_and_the_rest_goes_on(tmp_path, monkeypatch):
    src = tmp_path / "in"
    _photo(src / "a.png")
    os.mkfifo(src / "pipe.png")
    os.mkfifo(tmp_path / "named.png")
    locked = src / "locked"
    _photo(locked / "c.png")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == os.fspath(locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    plan = plan_batch([src, tmp_path / "named.png", tmp_path / "missing.png", "x" * 300 + ".png"],
                      tmp_path / "out", recursive=True)
    reasons = {p.name: p.reason for p in plan.problems}
    assert [i.name for i in plan.items] == ["a.png"]
    assert "a pipe" in reasons["pipe.png"] and "a pipe" in reasons[str(tmp_path / "named.png")]
    assert "no such file" in reasons[str(tmp_path / "missing.png")]
    assert "may not look inside" in reasons[f"{src}/locked"]
    assert "255" in reasons["x" * 300 + ".png"]
    report = run_batch(plan, Invert())
    assert len(report.written) == 1 and len(report.failures) == 5
    assert "5 input(s) could not be used" in report.summary()


def test_a_name_made_too_long_by_the_suffix_is_a_failure_of_that_photo(tmp_path):
    _photo(tmp_path / "in" / "a.png")
    _photo(tmp_path / "in" / ("b" * 200 + ".png"))
    plan = plan_batch([tmp_path / "in"], tmp_path / "out", suffix="_" + "s" * 60)
    assert [i.name for i in plan.items] == ["a.png"]
    assert "255" in plan.problems[0].reason and "shorter" in plan.problems[0].reason


def test_bad_output_folders_are_clear_errors(tmp_path):
    _photo(tmp_path / "a.png")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(BatchError, match="is an existing file"):
        plan_batch([tmp_path / "a.png"], tmp_path / "file.txt")
    with pytest.raises(BatchError, match="cannot be created: .*file.txt is a file"):
        plan_batch([tmp_path / "a.png"], tmp_path / "file.txt" / "sub")


# ------------------------------------------------------------------------------------------ sharding

def test_shards_partition_the_plan_and_a_rerun_with_skip_done_does_only_what_is_left(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for n in range(11):
        _photo(src / f"d{n % 3}" / f"p{n:02d}.png", n)
    plan = plan_batch([src], out, recursive=True)
    shares = [Shard(i, 4).select(plan.items) for i in range(4)]
    indexes = sorted(item.index for share in shares for item in share)
    assert indexes == list(range(11))  # every photo in exactly one shard
    assert {len(s) for s in shares} <= {2, 3}  # shares differ by at most one
    assert all(item.index % 4 == i for i, share in enumerate(shares) for item in share)
    # Another machine computes the same plan from the same inputs, whatever order they are given in.
    assert [i.relative for i in plan_batch([src], out, recursive=True).items] == [i.relative for i in plan.items]

    engines = []
    for i in range(4):
        engine = Invert()
        report = run_batch(plan, engine, shard=Shard(i, 4))
        assert report.total == len(shares[i]) and len(report.written) == len(shares[i])
        assert f"in shard {i}/4" in report.summary()
        engines.append(engine)
    assert sorted(n for e in engines for n in e.seen) == sorted(f"p{n:02d}.png" for n in range(11))
    assert len(_tree(out)) == 11

    lost = [plan.items[1].target, plan.items[6].target]  # a node died: these two never got written
    for path in lost:
        path.unlink()
    redone = []
    for i in range(4):
        engine = Invert()
        report = run_batch(plan, engine, shard=Shard(i, 4), skip_done=True)
        assert len(report.written) + len(report.skipped) == report.total and not report.failures
        redone += report.written
    assert sorted(redone) == sorted(lost)


def test_parse_shard():
    assert parse_shard("2/5") == Shard(2, 5) and str(Shard(2, 5)) == "2/5"
    for bad, words in (("5/5", "numbered 0 to 4"), ("-1/3", "numbered"), ("1/0", "at least 1"),
                       ("3", "INDEX/COUNT"), ("a/b", "INDEX/COUNT")):
        with pytest.raises(BatchError, match=words):
            parse_shard(bad)


# ------------------------------------------------------------------------------------------ running

def test_a_damaged_photo_in_the_middle_does_not_stop_the_batch(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _photo(src / "a.png")
    (src / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    _photo(src / "c.png")
    report = run_batch(plan_batch([src], out), Invert())
    assert report.written == [out / "a.png", out / "c.png"]
    assert [f.name for f in report.failed] == ["b.jpg"] and "damaged" in report.failed[0].reason
    assert report.summary().startswith("2 written, 1 failed, 0 skipped as already done, of 3 photos")


class Fragile(Invert):
    """Raises what real engines and libraries raise, for photos with a given name."""

    errors = {"b.png": ZeroDivisionError("division by zero"), "c.png": MemoryError(),
              "d.png": KeyError("weights"), "e.png": OSError(5, "Input/output error")}

    def process(self, request):
        error = self.errors.get(request.photo.meta.source_path.name)
        if error is not None:
            raise error
        return super().process(request)


def test_any_exception_from_the_engine_is_a_listed_failure(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for name in ("a.png", "b.png", "c.png", "d.png", "e.png", "f.png"):
        _photo(src / name)
    report = run_batch(plan_batch([src], out), Fragile())
    assert report.written == [out / "a.png", out / "f.png"]
    reasons = {f.name: f.reason for f in report.failed}
    assert reasons["b.png"] == "restoring failed: ZeroDivisionError: division by zero"
    assert "not enough memory" in reasons["c.png"]
    assert "KeyError" in reasons["d.png"]
    assert "Input/output error" in reasons["e.png"]


def test_a_loader_that_raises_unexpectedly_is_a_damaged_image(tmp_path, monkeypatch):
    import core.imageio

    _photo(tmp_path / "in" / "a.png")

    def explode(path, **kw):
        raise ValueError("bad huffman table")

    monkeypatch.setattr(core.imageio, "load_photo", explode)
    report = run_batch(plan_batch([tmp_path / "in"], tmp_path / "out"), Invert())
    assert report.failed[0].reason == "damaged image: bad huffman table"


def test_cancel_between_photos_and_inside_an_engine_leaves_no_partial_output(tmp_path):
    from core.jobs import CancelToken

    src, out = tmp_path / "in", tmp_path / "out"
    for name in ("a.png", "b.png", "c.png"):
        _photo(src / name)
    plan = plan_batch([src], out)
    cancel = CancelToken()

    class StopAfterFirst(BatchListener):
        def item_finished(self, item, outcome):
            cancel.cancel()

    report = run_batch(plan, Invert(), cancel=cancel, listener=StopAfterFirst())
    assert report.cancelled and report.written == [out / "a.png"] and report.not_done == 2
    assert "cancelled; 2 not done" in report.summary()

    class CancelInside(Invert):
        def process(self, request):
            request.cancel.cancel()
            request.cancel.raise_if_cancelled()
            raise AssertionError("not reached")

    out2 = tmp_path / "out2"
    report = run_batch(plan_batch([src], out2), CancelInside())
    assert report.cancelled and not report.written and not report.failed
    assert list(out2.iterdir()) == []


def test_progress_goes_up_to_the_total_and_reports_inside_each_photo(tmp_path):
    for name in ("a.png", "b.png"):
        _photo(tmp_path / "in" / name)
    seen = []
    inside = []

    class Lines(BatchListener):
        def item_started(self, item, position, count):
            return lambda d, t, m="": inside.append((item.name, d, t, m))

    run_batch(plan_batch([tmp_path / "in"], tmp_path / "out"), Invert(),
              progress=lambda d, t, m="": seen.append((d, t, m)), listener=Lines())
    done = [d for d, _t, _m in seen]
    assert done == sorted(done) and seen[-1][0] == seen[-1][1] and seen[-1][2] == "Done"
    assert ("a.png", 1, 2, "half way") in inside and any(m == "b.png: half way" for _d, _t, m in seen)


def test_cancelled_error_from_the_engine_stops_the_batch(tmp_path):
    class Stops(Invert):
        def process(self, request):
            raise CancelledError("Cancelled by the user.")

    _photo(tmp_path / "in" / "a.png")
    report = run_batch(plan_batch([tmp_path / "in"], tmp_path / "out"), Stops())
    assert report.cancelled and not report.failures
