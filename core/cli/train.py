"""`restora train`: train or fine-tune a model in this process (the GUI starts it as a subprocess).

    restora train CONFIG.toml [--run-dir DIR] [--max-steps N] [--device cpu] [--set key=value ...]
    restora train --preset NAME --data DIR [--val DIR] [--out RUNS_DIR] [--set key=value ...]
    restora train --resume RUN_DIR [--max-steps N]
    restora train presets
    torchrun --nproc_per_node N main.py train CONFIG.toml      (several GPUs; also -m core.cli.train)

Exit codes: 0 finished, stopped or early-stopped; 1 failed (non-finite loss, crash); 2 bad config or data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from core.errors import RestoraError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train or fine-tune a model; `train presets` lists what can be trained",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    p.set_defaults(run=run)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", help="a TOML config file, or 'presets' to list the presets")
    p.add_argument("--preset", help="start from this preset's defaults (no config file needed)")
    p.add_argument("--data", help="training data folder (sets data.train)")
    p.add_argument("--val", help="validation data folder (sets data.val)")
    p.add_argument("--out", help="folder that receives the new run folder (default: Restora's runs folder)")
    p.add_argument("--run-dir", help="exact run folder to write")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint")
    p.add_argument("--init", metavar="WEIGHTS", help="fine-tune: start the network from this weight file "
                   "(a Restora export or an official checkpoint of the same architecture; sets init_weights)")
    p.add_argument("--max-steps", type=int, help="sets train.max_steps")
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps or auto (sets train.device)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config value, e.g. --set optim.g_lr=1e-4 (repeatable)")


def _list_presets() -> int:
    from core.train.presets import all_presets

    for name, preset in sorted(all_presets().items()):
        d = preset.defaults()
        print(f"{name:20} {preset.task:9} data {d.data.kind:18} {preset.description}")
    return 0


def _absolute(path: str, base: Path) -> str:
    if not path:
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def build_config(args: argparse.Namespace) -> tuple[Any, bool]:
    """The resolved RunConfig and whether this is a resume. Raises ConfigError for anything wrong."""
    from core.train.config import ConfigError, merge, nest, parse_override, read_toml
    from core.train.presets import get_preset
    from core.train.runfolder import CONFIG_FILE

    resume = bool(args.resume)
    if resume:
        source = Path(args.resume) / CONFIG_FILE
        if not source.is_file():
            raise ConfigError(f"{args.resume} is not a run folder (no {CONFIG_FILE}).")
        values, base = read_toml(source), source.parent
    elif args.config:
        values, base = read_toml(args.config), Path(args.config).resolve().parent
    elif args.preset:
        values, base = {}, Path.cwd()
    else:
        raise ConfigError("Give a config file, --preset NAME (with --data DIR), or --resume RUN_DIR.")
    name = args.preset if (args.preset and not resume) else values.get("preset")
    if not name:
        raise ConfigError("The config names no preset (preset = \"...\"); `restora train presets` lists them.")
    values = dict(values)
    values["preset"] = name
    data = values.setdefault("data", {})
    for key in ("train", "val"):
        if isinstance(data.get(key), str):
            data[key] = _absolute(data[key], base)
    for key in ("init_weights", "vgg16_weights"):
        if isinstance(values.get(key), str) and values[key]:
            values[key] = _absolute(values[key], base)
    if args.data:
        data["train"] = _absolute(args.data, Path.cwd())
    if args.val:
        data["val"] = _absolute(args.val, Path.cwd())
    for text in args.overrides:
        path, value = parse_override(text)
        nest(path, value, values)
    if args.init:
        values["init_weights"] = _absolute(args.init, Path.cwd())
    if args.max_steps is not None:
        nest(["train", "max_steps"], args.max_steps, values)
    if args.device:
        nest(["train", "device"], args.device, values)
    cfg = merge(get_preset(name).defaults(), values)
    if not cfg.data.train:
        raise ConfigError("No training data: set data.train in the config or pass --data DIR.")
    return cfg, resume


def _choose_run_dir(args: argparse.Namespace, cfg: Any, resume: bool) -> Path:
    from core import paths
    from core.train.config import ConfigError
    from core.train.runfolder import RunFolder, new_run_dir

    if resume:
        return Path(args.resume)
    if args.run_dir:
        folder = RunFolder(args.run_dir)
        if folder.latest_checkpoint.exists():
            raise ConfigError(f"{args.run_dir} already holds a run; continue it with --resume {args.run_dir}.")
        folder.create()
        return folder.path
    return new_run_dir(Path(args.out) if args.out else paths.runs_dir(), cfg.name or cfg.preset)


def run(args: argparse.Namespace) -> int:
    if args.config == "presets":
        return _list_presets()
    from core.train import distributed as dist_utils
    from core.train.trainer import Trainer

    try:
        cfg, resume = build_config(args)
    except RestoraError as e:
        print(f"restora train: {e}", file=sys.stderr)
        return 2
    ctx, device = dist_utils.setup(cfg.train.device)
    try:
        try:
            chosen: tuple[Path | None, str] = (None, "")
            if ctx.is_main:
                try:
                    chosen = (_choose_run_dir(args, cfg, resume), "")
                except RestoraError as e:
                    chosen = (None, str(e))
            run_dir, error = dist_utils.broadcast_object(ctx, chosen)  # every rank learns rank 0's choice
            if run_dir is None:
                raise RestoraError(error)
            trainer = Trainer(cfg, run_dir, resume=resume, dist_ctx=ctx, device=device)
        except RestoraError as e:
            print(f"restora train: {e}", file=sys.stderr)
            return 2
        try:
            result = trainer.run()
        except RestoraError as e:
            print(f"restora train: failed: {e}", file=sys.stderr)
            return 1
        except Exception as e:  # noqa: BLE001  a crash in training: status.json already says failed
            print(f"restora train: failed: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        return 1 if result.state == "failed" else 0
    finally:
        dist_utils.teardown(ctx)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m core.cli.train ...` (what torchrun -m runs)."""
    parser = argparse.ArgumentParser(prog="restora train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(parser)
    return run(parser.parse_args(list(argv) if argv is not None else None))


if __name__ == "__main__":
    sys.exit(main())
