"""Figures for the face pipeline: `python -m core.engines.face.measure [detection] [timing] [networks]`.

detection: recall, false positives and landmark error of each offline detector on synthetic group photos
  (core.engines.face.synthetic; seeded, so every run measures the same photos). A detection counts as a face
  when its box overlaps a true face's box by IoU >= MATCH_IOU (each true face matched once, greedily by IoU);
  any other detection is a false positive. The eye error is the mean distance of the two eye landmarks from
  the true eyes, as a share of the true eye distance.
timing: detection, alignment and paste-back on a 12-megapixel (4000 x 3000) photo with 20 faces, network
  time excluded (an identity restorer; the time it takes is subtracted).
networks: per-face time of each face network family at its official size with seeded random weights.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable, Sequence

import numpy as np

from core.engines.face.detect_types import DetectedFace
from core.engines.face.haar import HaarOptions, detect_haar, iou
from core.engines.face.synthetic import TrueFace, assembled_group, group_photo

MATCH_IOU = 0.3


def match(found: Sequence[DetectedFace], truth: Sequence[TrueFace]) -> tuple[int, int, list[float]]:
    """(true faces found, false detections, eye errors of the matched ones)."""
    pairs = sorted(((iou(f.region.box, t.box), i, j) for i, f in enumerate(found) for j, t in enumerate(truth)),
                   reverse=True)
    used_f: set[int] = set()
    used_t: set[int] = set()
    errors: list[float] = []
    for score, i, j in pairs:
        if score < MATCH_IOU or i in used_f or j in used_t:
            continue
        used_f.add(i)
        used_t.add(j)
        got, want = np.asarray(found[i].region.landmarks[:2]), np.asarray(truth[j].landmarks[:2])
        errors.append(float(np.linalg.norm(got - want, axis=1).mean() / np.linalg.norm(want[1] - want[0])))
    return len(used_t), len(found) - len(used_f), errors


# scikit-image's astronaut.png (Eileen Collins, NASA, public domain; 512 x 512): its face, measured by hand
ASTRONAUT = TrueFace((180.0, 80.0, 90.0, 92.0),
                     ((205.0, 101.5), (246.0, 103.0), (225.5, 126.0), (204.0, 141.0), (244.0, 141.0)))


def photo_sets(photos: int, faces: int, seed: int, astronaut: str | None) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    sets = {"synthetic": [group_photo(2400, 1800, faces, rng, min_side=90, max_side=360) for _ in range(photos)]}
    if astronaut:
        import cv2

        bgr = cv2.imread(astronaut)
        if bgr is None:
            raise SystemExit(f"cannot read {astronaut}")
        face = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        sets["astronaut"] = [assembled_group(face, ASTRONAUT, 2400, 1800, faces, rng, min_side=60, max_side=260)
                             for _ in range(photos)]
    return sets


def detection(photos: int = 8, faces: int = 12, seed: int = 7, astronaut: str | None = None) -> list[dict[str, Any]]:
    detectors: dict[str, Callable[[np.ndarray], list[DetectedFace]]] = {
        "Haar frontal (default)": lambda img: detect_haar(img, HaarOptions(profiles=False)),
        "Haar frontal + profile": lambda img: detect_haar(img, HaarOptions(profiles=True)),
    }
    rows = []
    for set_name, data in photo_sets(photos, faces, seed, astronaut).items():
        for name, fn in detectors.items():
            found_n = total = false = 0
            errors: list[float] = []
            seconds = []
            for image, truth in data:
                started = time.perf_counter()
                got = fn(image)
                seconds.append(time.perf_counter() - started)
                hit, fp, err = match(got, truth)
                found_n, total, false = found_n + hit, total + len(truth), false + fp
                errors += err
            rows.append({"photos": set_name, "detector": name, "faces": total, "found": found_n,
                         "recall": found_n / max(total, 1), "false_positives": false, "fp_per_photo": false / photos,
                         "eye_error": statistics.median(errors) if errors else float("nan"),
                         "seconds_per_photo": statistics.median(seconds)})
    return rows


class _Identity:
    name, template, side, own_fidelity = "identity", "ffhq", 512, True

    def restore(self, crop: np.ndarray, fidelity: float) -> np.ndarray:
        return crop


def timing(seed: int = 11, repeats: int = 3) -> dict[str, float]:
    from core.engines.face.detect import find_faces
    from core.engines.face.paste import photo_tone
    from core.engines.face.pipeline import FaceOptions, restore_faces

    rng = np.random.default_rng(seed)
    image, truth = group_photo(4000, 3000, 20, rng, min_side=200, max_side=420, clutter=120)
    best: dict[str, float] = {}
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        detection_result = find_faces(image, detector="haar", profiles=False)
        c1, t1 = time.process_time(), time.perf_counter()
        tone = photo_tone(image)
        result = restore_faces(image, detection_result.faces, _Identity(), FaceOptions(tone=tone))  # type: ignore[arg-type]
        c2, t2 = time.process_time(), time.perf_counter()
        net = sum(result.network_seconds)
        figures = {"detect_s": t1 - t0, "align_paste_s": t2 - t1 - net, "total_s": t2 - t0 - net,
                   "cpu_detect_s": c1 - c0, "cpu_align_paste_s": c2 - c1, "cpu_total_s": c2 - c0,
                   "faces_true": float(len(truth)), "faces_found": float(len(detection_result.faces)),
                   "faces_restored": float(sum(r.status == "restored" for r in result.reports))}
        if not best or figures["total_s"] < best["total_s"]:
            best = figures
    return best


def networks(families: Sequence[str] = ("GFPGAN", "CodeFormer", "RestoreFormer", "GPEN"),
             repeats: int = 2) -> list[dict[str, Any]]:
    import torch

    from core.archs.identify import identify
    from core.engines.face.restorers import ModelRestorer

    rows: list[dict[str, Any]] = []
    crop = np.random.default_rng(0).random((512, 512, 3), dtype=np.float32)
    for family in families:
        torch.manual_seed(0)
        net = _official_size(family)
        if net is None:
            rows.append({"family": family, "seconds": None, "note": "architecture not available"})
            continue
        restorer = ModelRestorer(identify(net.state_dict()).descriptor, family, device="cpu")
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            restorer.restore(crop if restorer.side == 512 else crop[:restorer.side, :restorer.side], 0.5)
            times.append(time.perf_counter() - started)
        rows.append({"family": family, "seconds": min(times), "side": restorer.side,
                     "parameters_m": sum(p.numel() for p in net.parameters()) / 1e6})
    return rows


def parsing(repeats: int = 2) -> dict[str, Any]:
    """Seconds per face of the ParseNet paste mask (official size, random weights, CPU)."""
    import torch

    from core.archs.identify import identify
    from core.archs.parsenet import ParseNet
    from core.engines.face.parsing import FaceParser

    torch.manual_seed(0)
    net = ParseNet()
    parser = FaceParser(identify(net.state_dict()).descriptor, "ParseNet", device="cpu")
    crop = np.random.default_rng(0).random((512, 512, 3), dtype=np.float32)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        parser.face_weight(crop, 512)
        times.append(time.perf_counter() - started)
    return {"seconds": min(times), "side": parser.side,
            "parameters_m": sum(p.numel() for p in net.parameters()) / 1e6}


def _official_size(family: str) -> Any:
    if family == "GFPGAN":
        from spandrel.architectures.GFPGAN import GFPGAN

        return GFPGAN()
    if family == "CodeFormer":
        from spandrel_extra_arches.architectures.CodeFormer import CodeFormer

        return CodeFormer()
    if family == "RestoreFormer":
        from spandrel.architectures.RestoreFormer import RestoreFormer

        return RestoreFormer()
    try:  # GPEN is Restora's own architecture (core.archs.gpen), written separately
        from core.archs import gpen
    except ImportError:
        return None
    build = getattr(gpen, "GPEN", None)
    return build() if callable(build) else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="*", default=["detection", "timing"],
                        choices=["detection", "timing", "networks", "parsing"])
    parser.add_argument("--astronaut", metavar="PNG", help="also measure on group photos assembled from "
                        "scikit-image's astronaut.png (a real face; skimage/data/astronaut.png in its wheel)")
    parser.add_argument("--photos", type=int, default=8, help="group photos per set (12 faces each)")
    args = parser.parse_args(argv)
    if "detection" in args.what:
        print(f"{'photos':10} {'detector':26} {'faces':>5} {'found':>5} {'recall':>6} {'false':>5} {'fp/photo':>8} "
              f"{'eye err':>7} {'s/photo':>7}")
        for r in detection(args.photos, astronaut=args.astronaut):
            print(f"{r['photos']:10} {r['detector']:26} {r['faces']:5d} {r['found']:5d} {r['recall']:6.1%} "
                  f"{r['false_positives']:5d} {r['fp_per_photo']:8.2f} {r['eye_error']:7.3f} "
                  f"{r['seconds_per_photo']:7.2f}")
    if "timing" in args.what:
        t = timing()
        print(f"12 MP, 20 faces: detection {t['detect_s']:.2f} s, alignment + paste-back {t['align_paste_s']:.2f} s, "
              f"total {t['total_s']:.2f} s wall (network excluded); CPU time {t['cpu_detect_s']:.2f} + "
              f"{t['cpu_align_paste_s']:.2f} = {t['cpu_total_s']:.2f} s; {t['faces_found']:.0f} of "
              f"{t['faces_true']:.0f} faces found, {t['faces_restored']:.0f} restored")
    if "networks" in args.what:
        for r in networks():
            if r["seconds"] is None:
                print(f"{r['family']:14} {r['note']}")
            else:
                print(f"{r['family']:14} {r['seconds']:6.2f} s per face at {r['side']} px "
                      f"({r['parameters_m']:.1f} M parameters, CPU, random weights)")
    if "parsing" in args.what:
        r = parsing()
        print(f"{'ParseNet mask':14} {r['seconds']:6.2f} s per face at {r['side']} px "
              f"({r['parameters_m']:.1f} M parameters, CPU, random weights)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
