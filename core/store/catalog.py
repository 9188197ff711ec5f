"""Well-known released checkpoints that `restora models download ID` can fetch into the model store.

Each entry names the official file, where it is published, and, where known, its SHA-256 and size in
bytes. Where no hash has been published or verified (sha256=None) the downloader checks the size only (or
just completeness) and the store records the SHA-256 it computes. Nothing here is downloaded unless asked.
ASSETS are files the store does not import (the YuNet ONNX face detector): they go into a store sub-folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import RestoraError
from core.jobs import CancelToken, Progress, no_progress

_REAL_ESRGAN = "https://github.com/xinntao/Real-ESRGAN/releases/download"
_GFPGAN = "https://github.com/TencentARC/GFPGAN/releases/download"


class UnknownCatalogEntryError(RestoraError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    task: str  # lowlight | inpaint | face | general
    architecture: str  # as identified on import
    url: str
    sha256: str | None
    size: int | None  # bytes
    license: str
    notes: str = ""

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry("realesrgan-x4plus", "Real-ESRGAN x4plus", "general", "ESRGAN",
                 f"{_REAL_ESRGAN}/v0.1.0/RealESRGAN_x4plus.pth",
                 "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1", 67_040_989, "BSD-3-Clause",
                 "4x upscaling of real photos (RRDB, 23 blocks)."),
    CatalogEntry("realesrgan-x2plus", "Real-ESRGAN x2plus", "general", "ESRGAN",
                 f"{_REAL_ESRGAN}/v0.2.1/RealESRGAN_x2plus.pth",
                 "49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb", 67_061_725, "BSD-3-Clause",
                 "2x upscaling of real photos."),
    CatalogEntry("realesrgan-x4plus-anime-6b", "Real-ESRGAN x4plus anime 6B", "general", "ESRGAN",
                 f"{_REAL_ESRGAN}/v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth",
                 "f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da", 17_938_799, "BSD-3-Clause",
                 "4x upscaling of drawings and anime (6 RRDB blocks)."),
    CatalogEntry("realesr-general-x4v3", "Real-ESRGAN general x4 v3", "general", "Compact",
                 f"{_REAL_ESRGAN}/v0.2.5.0/realesr-general-x4v3.pth",
                 "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292", 4_885_111, "BSD-3-Clause",
                 "Small, fast 4x model for general photos (SRVGGNetCompact)."),
    CatalogEntry("realesr-animevideov3", "Real-ESRGAN anime video v3", "general", "Compact",
                 f"{_REAL_ESRGAN}/v0.2.5.0/realesr-animevideov3.pth",
                 "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d", 2_504_012, "BSD-3-Clause",
                 "Very small 4x model for anime frames."),
    CatalogEntry("gfpgan-v1.4", "GFPGAN v1.4", "face", "GFPGAN", f"{_GFPGAN}/v1.3.0/GFPGANv1.4.pth",
                 "e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad", 348_632_874,
                 "Apache-2.0 (TencentARC/GFPGAN)", "Restores aligned 512x512 faces; works in [-1, 1]."),
    CatalogEntry("restoreformer", "RestoreFormer", "face", "RestoreFormer", f"{_GFPGAN}/v1.3.4/RestoreFormer.pth",
                 None, None, "Apache-2.0 (wzhouxiff/RestoreFormer, released in TencentARC/GFPGAN)",
                 "Restores aligned 512x512 faces. No published SHA-256: only completeness is checked."),
    CatalogEntry("codeformer", "CodeFormer", "face", "CodeFormer",
                 "https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/codeformer.pth",
                 "1009e537e0c2a07d4cabce6355f53cb66767cd4b4297ec7a4a64ca4b8a5684b7", 376_637_898,
                 "NTU S-Lab License 1.0 (non-commercial)",
                 "Restores aligned 512x512 faces; works in [-1, 1]. Needs spandrel-extra-arches."),
    CatalogEntry("gpen-bfr-512", "GPEN-BFR-512", "face", "GPEN",
                 "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models/GPEN-BFR-512.pth",
                 None, 284_085_738, "see yangxy/GPEN (academic, non-commercial use)",
                 "Restores aligned 512x512 faces. Identified by Restora's own GPEN architecture. No published "
                 "SHA-256: the size is checked."),
    CatalogEntry("parsenet", "ParseNet face parsing (facexlib)", "face", "ParseNet",
                 "https://github.com/xinntao/facexlib/releases/download/v0.2.2/parsing_parsenet.pth",
                 None, None, "see chaofengc/PSFRGAN and xinntao/facexlib",
                 "Finds the parts of a face (skin, eyes, mouth, hair...) so restored faces are blended along "
                 "their own outline instead of an ellipse (the face engine's Face mask). Identified by "
                 "Restora's own ParseNet architecture. No published SHA-256: only completeness is checked."),
    CatalogEntry("big-lama", "Big LaMa", "inpaint", "LaMa",
                 "https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt",
                 None, None, "Apache-2.0 (advimman/lama)",
                 "Large-mask inpainting. A single-file TorchScript export of the official big-lama weights "
                 "(the official release is a zip with a training checkpoint); Restora reads only its tensors. "
                 "No published SHA-256: only completeness is checked."),
    CatalogEntry("zero-dce", "Zero-DCE", "lowlight", "Zero-DCE",
                 "https://raw.githubusercontent.com/Li-Chongyi/Zero-DCE/43f9da935d55758d93b54a47ce5872c96b342668/"
                 "Zero-DCE_code/snapshots/Epoch99.pth",
                 "a4395acb874f320375d9704997cef874eaaaaa26a1777ceb29a92b70f74c3612", 320_017,
                 "see Li-Chongyi/Zero-DCE", "Low-light enhancement by curve estimation (79k parameters)."),
    CatalogEntry("zero-dce-pp", "Zero-DCE++", "lowlight", "Zero-DCE++",
                 "https://raw.githubusercontent.com/Li-Chongyi/Zero-DCE_extension/"
                 "99ab5265054f685c874da58033ece00579514425/Zero-DCE++/snapshots_Zero_DCE++/Epoch99.pth",
                 "ca8855b90df9a80fa4195a831f33d3476b1964f787eb70602797c773067f3b84", 52_395,
                 "see Li-Chongyi/Zero-DCE_extension", "Faster low-light enhancement (10k parameters)."),
)


# Files that are not networks for the store's import path (not PyTorch checkpoints: ONNX detectors). Each
# is kept in a sub-folder of the store (`asset_path`), where the code that uses it looks; the store's
# manifest does not list them. `fetch_asset` downloads one there, checksum-verified.
_OPENCV_ZOO = "https://github.com/opencv/opencv_zoo/raw/47534e27c9851bb1128ccc0102f1145e27f23f98/models"
YUNET = CatalogEntry("yunet-2023mar", "YuNet face detector (2023mar)", "face", "YuNet",
                     f"{_OPENCV_ZOO}/face_detection_yunet/face_detection_yunet_2023mar.onnx",
                     "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4", 232_589,
                     "MIT (opencv/opencv_zoo)",
                     "Face detector with five landmarks (ONNX, run by cv2.FaceDetectorYN); the face engine uses it "
                     "instead of the Haar cascades once it is in the store's detectors folder.")
ASSET_FOLDERS = {"yunet-2023mar": "detectors"}
ASSETS: tuple[CatalogEntry, ...] = (YUNET,)


def catalog() -> list[CatalogEntry]:
    return list(CATALOG)


def assets() -> list[CatalogEntry]:
    return list(ASSETS)


def asset_path(item: CatalogEntry, store_root: Path) -> Path:
    """Where an asset lives in the store folder `store_root`: <root>/<folder>/<its file name>."""
    return Path(store_root) / ASSET_FOLDERS[item.id] / item.filename


def fetch_asset(item: CatalogEntry, store_root: Path, *, progress: Progress = no_progress,
                cancel: CancelToken | None = None) -> Path:
    """Download an asset into its folder of the store (resumable; size and SHA-256 checked)."""
    from core.store.downloads import download

    return download(item.url, asset_path(item, store_root), sha256=item.sha256, size=item.size,
                    progress=progress, cancel=cancel)


def catalog_entry(catalog_id: str) -> CatalogEntry:
    for entry in CATALOG:
        if entry.id == catalog_id:
            return entry
    known = ", ".join(e.id for e in CATALOG)
    raise UnknownCatalogEntryError(f"No catalog model is called {catalog_id!r}; the catalog has {known}.")
