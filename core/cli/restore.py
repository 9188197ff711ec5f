"""`restora restore`: batch restoration of files and folders, continuing past bad files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import CancelledError, RestoraError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restore", help="run an engine on photos or folders of photos",
                       description="Run one engine on every input; bad files are listed at the end "
                                   "and make the exit status non-zero. Originals are never overwritten.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files or folders")
    p.add_argument("--engine", required=True, help="engine id (see `restora engines`)")
    p.add_argument("--mask", help="mask file for every input, or a folder of masks named like the inputs")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="engine parameter")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--format", choices=("same", "png", "jpg", "tif", "webp"), default="same",
                   help="output format (default: same as the input)")
    p.add_argument("--suffix", default="", help="added to each output name, e.g. _restored")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: auto)")
    p.add_argument("--recursive", action="store_true", help="look into subfolders of input folders")
    p.set_defaults(run=run)


def parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RestoraError(f"--param takes KEY=VALUE, got {pair!r}")
        params[key.strip()] = value.strip()
    return params


def expand_inputs(inputs: list[str], recursive: bool = False) -> tuple[list[Path], list[tuple[str, str]]]:
    """The photo files named or inside the folders named, and the inputs that do not exist."""
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            files += sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            files.append(path)
        else:
            missing.append((item, "no such file or folder"))
    return files, missing


def output_path(source: Path, out_dir: Path, fmt: str, suffix: str) -> Path:
    ext = source.suffix.lower() if fmt == "same" else f".{fmt}"
    if ext not in IMAGE_SUFFIXES:  # a photo named oddly (e.g. no extension) is written as PNG
        ext = ".png"
    return out_dir / f"{source.stem}{suffix}{ext}"


def _mask_for(source: Path, mask_arg: str | None, shape: tuple[int, int]):
    from core.masks import load_mask

    if not mask_arg:
        return None
    mask_path = Path(mask_arg)
    if mask_path.is_dir():
        candidates = [p for p in mask_path.iterdir() if p.stem in (source.stem, f"{source.stem}_mask")
                      and p.suffix.lower() in IMAGE_SUFFIXES]
        if not candidates:
            raise RestoraError(f"no mask named {source.stem}.* or {source.stem}_mask.* in {mask_path}")
        mask_path = candidates[0]
    return load_mask(mask_path, shape)


def run(args: argparse.Namespace) -> int:
    from core.cli.progressbar import ProgressBar
    from core.engines.registry import default_registry
    from core.engines.request import EngineRequest
    from core.imageio import load_photo, save_photo
    from core.jobs import CancelToken

    registry = default_registry()
    params = registry.get(args.engine).resolve_params(parse_params(args.param))  # bad parameters fail before any work
    files, failures = expand_inputs(args.inputs, args.recursive)
    if not files and not failures:
        raise RestoraError("no photos found in the inputs")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    engine = registry.create(args.engine, device=args.device)
    cancel = CancelToken()
    done = 0
    for index, source in enumerate(files, 1):
        target = output_path(source, out_dir, args.format, args.suffix)
        label = f"[{index}/{len(files)}] {source.name}"
        bar = ProgressBar(label)
        try:
            if target.exists() and not args.overwrite:
                raise RestoraError(f"{target} exists (pass --overwrite to replace it)")
            photo = load_photo(source)
            mask = _mask_for(source, args.mask, (photo.height, photo.width))
            result = engine.run(EngineRequest(photo, mask=mask, params=params, progress=bar, cancel=cancel))
            # Written only once the whole result exists: a cancelled run leaves no partial file.
            save_photo(result.photo, target, quality=args.quality)
            bar.finish(f"-> {target}" + "".join(f" ({n})" for n in result.notes))
            done += 1
        except KeyboardInterrupt:
            cancel.cancel()
            bar.finish("cancelled")
            print(f"restora: cancelled; {done} of {len(files)} photos written.", file=sys.stderr)
            return 130
        except CancelledError:
            bar.finish("cancelled")
            return 130
        except (RestoraError, ValueError, OSError) as e:
            bar.finish("failed")
            failures.append((str(source), str(e)))
    print(f"{done} of {len(files)} photos restored into {out_dir}.")
    if failures:
        print(f"{len(failures)} input(s) failed:", file=sys.stderr)
        for name, why in failures:
            print(f"  {name}: {why}", file=sys.stderr)
        return 1
    return 0
