"""One batch runner for the command line and the desktop: plan every photo's output, then restore a shard.

    plan = plan_batch(["scans"], "out", recursive=True)       # decided and checked before any work
    report = run_batch(plan, engine, params, shard=Shard(0, 4), skip_done=True, progress=..., cancel=...)

Qt-free: the desktop runs `run_batch` in its worker pool.
"""

from core.batch.inputs import MASK_SUFFIX, expand_inputs
from core.batch.items import BatchConflictError, BatchError, BatchFailure, BatchItem, BatchPlan
from core.batch.plan import FORMATS, output_name, plan_batch
from core.batch.run import BatchListener, BatchReport, ItemOutcome, describe, run_batch
from core.batch.shard import Shard, parse_shard

__all__ = ["FORMATS", "MASK_SUFFIX", "BatchConflictError", "BatchError", "BatchFailure", "BatchItem", "BatchListener",
           "BatchPlan", "BatchReport", "ItemOutcome", "Shard", "describe", "expand_inputs", "output_name",
           "parse_shard", "plan_batch", "run_batch"]
