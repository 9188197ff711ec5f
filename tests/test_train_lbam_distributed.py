"""The lbam preset under DDP: two CPU processes (gloo) train one run (the two-argument generator call, the
conditioned two-column critic and its gradient penalty) and end with the same weights on both ranks."""

from __future__ import annotations

import os

import pytest

from tests.test_train_support import records, run_two_ranks, tiny_config, write_flat


def _rank_main(rank: int, world: int, port: int, data: str, run_dir: str, results) -> None:
    import torch

    torch.set_num_threads(1)
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    from core.train import distributed as dist_utils
    from core.train.trainer import Trainer

    cfg = tiny_config("lbam", data, model={"base": 2, "d_base": 2, "d_layers": 3},
                      data={"batch_size": 1}, train={"max_steps": 2})
    ctx, device = dist_utils.setup("cpu")
    try:
        trainer = Trainer(cfg, run_dir, dist_ctx=ctx, device=device, echo=lambda line: None)
        state = trainer.run().state
        sums = [float(sum(p.detach().double().sum() for p in m.parameters()))
                for m in (trainer.generator, trainer.discriminator)]
        results.put((rank, state, sums))
    finally:
        dist_utils.teardown(ctx)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks the worker processes")
def test_two_process_lbam_run_keeps_the_ranks_in_step(tmp_path, rng):
    data = write_flat(tmp_path / "d", rng, n=4)
    run_dir = tmp_path / "run"
    rows, _procs = run_two_ranks(_rank_main, str(data), str(run_dir))
    got = {rank: (state, sums) for rank, state, sums in rows}
    assert got[0][0] == got[1][0] == "finished"
    assert got[0][1] == pytest.approx(got[1][1], rel=1e-12)  # DDP averaged the same gradients on both ranks
    losses = records(run_dir, "train")[2]["losses"]
    assert {"hole", "valid", "adversarial", "d_gp"} <= set(losses)
