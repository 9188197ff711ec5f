"""core.train.runs.supervisor: the training panel's run state without Qt (own run, stop, resume, per-run notes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from core.train.runs import layout
from core.train.runs.reader import RunReader
from core.train.runs.supervisor import STALE, STARTING, RunSupervisor, run_key
from tests.test_train_run_reader import write_run, write_status


def _reader(run) -> RunReader:
    reader = RunReader(run)
    reader.poll()
    return reader


def test_a_run_we_resume_reads_starting_until_its_trainer_writes(tmp_path):
    run = write_run(tmp_path / "run", steps=40, state="stopped", total=100, checkpoints=("latest.pt",))
    supervisor = RunSupervisor()
    key = run_key(run)
    reader = _reader(run)
    assert supervisor.state_of(key, reader) == "stopped"
    assert supervisor.can_resume(key, reader) and not supervisor.can_stop(key, reader)
    supervisor.process_started(run_dir=run)
    assert supervisor.own_run == key and supervisor.is_own(key)
    assert supervisor.state_of(key, reader) == STARTING, "the old 'stopped' belongs to the last chapter"
    assert supervisor.progress_text(key, reader) == "starting…"
    assert not supervisor.can_resume(key, reader) and supervisor.can_stop(key, reader)
    layout.write_status(run, "running", "Resumed at step 40; loading the first batch.", 40, 100,
                        layout.PHASE_LOADING)
    reader.poll()
    assert supervisor.state_of(key, reader) == "running"
    assert supervisor.progress_text(key, reader) == "step 40 of 100 (40.0 %) · loading data…"


def test_stop_says_stopped_with_its_step_not_finished(tmp_path):
    run = write_run(tmp_path / "run", steps=10, total=100)
    supervisor = RunSupervisor()
    supervisor.process_started(run_dir=run)
    supervisor.stop_requested()
    layout.write_status(run, "stopped", "Stopped on request at step 40; checkpoints/latest.pt resumes it.", 40, 100)
    reader = _reader(run)
    note = supervisor.process_finished(0, "The training process finished (exit code 0).", reader)
    assert note.text == "Stopped at step 40; checkpoints/latest.pt resumes it." and not note.error
    assert "exit code" not in note.text and "finished" not in note.text
    assert supervisor.message_for(run_key(run), reader).text == note.text
    assert not supervisor.process_running and not supervisor.stop_pending


def test_a_stop_that_ended_in_termination_is_still_a_stop(tmp_path):
    run = write_run(tmp_path / "run", steps=10, total=100)
    supervisor = RunSupervisor()
    supervisor.process_started(run_dir=run)
    layout.write_status(run, "running", "Training: step 12 of 100.", 12, 100, layout.PHASE_TRAINING)
    supervisor.stop_requested()
    note = supervisor.process_finished(-1, "The training process crashed (killed by a signal).", _reader(run))
    assert note.text.startswith("Stopped at step 12") and "terminated" in note.text and not note.error


def test_how_a_run_ended_comes_from_its_own_status(tmp_path):
    run = write_run(tmp_path / "run", total=100)
    supervisor = RunSupervisor()
    supervisor.process_started(run_dir=run)
    layout.write_status(run, "finished", "Finished 100 steps; best psnr 24.1000 at step 100.", 100, 100)
    note = supervisor.process_finished(0, "The training process finished (exit code 0).", _reader(run))
    assert note.text == "Finished 100 steps; best psnr 24.1000 at step 100."
    supervisor.process_started(run_dir=run)
    layout.write_status(run, "failed", "ValueError: boom", 3, 100)
    note = supervisor.process_finished(1, "The training process failed with exit code 1.", _reader(run))
    assert note.error and "boom" in note.text and "exit code 1" in note.text
    note = RunSupervisor().process_finished(2, "The training process failed with exit code 2.", None)
    assert note.error and note.text == "The training process failed with exit code 2."


def test_notes_belong_to_their_run_and_last_while_its_state_does(tmp_path):
    a = write_run(tmp_path / "a", state="running")
    b = write_run(tmp_path / "b", state="finished", checkpoints=("latest.pt",))
    ka, kb = run_key(a), run_key(b)
    ra, rb = _reader(a), _reader(b)
    supervisor = RunSupervisor()
    supervisor.note(ka, "Asked the run to stop.", reader=ra)
    assert supervisor.message_for(ka, ra).text == "Asked the run to stop."
    assert supervisor.message_for(kb, rb).text == "", "a note about run a never shows under run b"
    write_status(a, state="stopped", step=7, message="Stopped on request at step 7.")
    ra.poll()
    assert supervisor.message_for(ka, ra).text == "Stopped on request at step 7.", "the run moved on"
    supervisor.note(kb, "registered", reader=rb)
    supervisor.forget(kb)
    assert supervisor.message_for(kb, rb).text == ""


def test_a_new_run_becomes_our_own_when_its_folder_appears(tmp_path):
    supervisor = RunSupervisor()
    supervisor.process_started(runs_folder=tmp_path, now=time.time())
    assert supervisor.look_for_new_run(4242) is None and supervisor.awaiting is not None
    assert supervisor.can_stop(None, None) and supervisor.stops_own_process(None)
    run = write_run(tmp_path / "20250101-000000_x")
    write_status(run, pid=4242)
    assert supervisor.look_for_new_run(4242) == run
    assert supervisor.awaiting is None and supervisor.own_run == run_key(run)
    other = write_run(tmp_path / "other", state="finished")
    assert not supervisor.stops_own_process(run_key(other)), "Stop with another run selected is not for ours"


@pytest.mark.skipif(sys.platform == "win32", reason="process probing is not available on Windows")
def test_a_running_status_whose_process_is_gone_reads_stale_and_resumable(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run = write_run(tmp_path / "run", checkpoints=("latest.pt",))
    write_status(run, pid=int(done.stdout))
    reader = _reader(run)
    supervisor = RunSupervisor()
    key = run_key(run)
    assert supervisor.state_of(key, reader) == STALE
    assert supervisor.can_resume(key, reader) and not supervisor.can_stop(key, reader)
    note = supervisor.message_for(key, reader)
    assert note.error and "process is gone" in note.text
    write_status(run, pid=os.getpid())
    reader.poll()
    assert supervisor.state_of(key, reader) == "running" and supervisor.can_stop(key, reader)
