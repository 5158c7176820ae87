"""The atomic writer: fsync before rename, `cannot write PATH: reason` naming the target, and
the sweep of temporary files left by a writer that was killed."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from morphax._core import InputError, atomic_path, atomic_write_text, check_folder, check_writable


def test_a_killed_write_leaves_the_target_alone_and_its_temp_is_swept_next_time(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    code = textwrap.dedent(f"""
        import sys, time
        from morphax._core import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_text("half-writ")
            print(tmp, flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    temp = proc.stdout.readline().strip()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert os.path.exists(temp) and target.read_text() == "old"
    mine = tmp_path / f".state.{os.getpid()}.abcdefgh.json"     # a live writer's temp
    other = tmp_path / ".state.json.bak"                          # not ours
    mine.write_text("")
    other.write_text("")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, mine.name, other.name])


def test_fsync_comes_before_the_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    atomic_write_text(tmp_path / "a.txt", "x")
    assert calls[:2] == ["fsync", "replace"]


def test_os_errors_name_the_target_not_the_temp_file(tmp_path):
    (tmp_path / "taken.vtu").mkdir()
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match=r"cannot write .*taken.vtu: it is a folder$"):
        atomic_write_text(tmp_path / "taken.vtu", "x")
    with pytest.raises(InputError, match=r"cannot write .*file/a.txt: a parent of it is a file"):
        with atomic_path(tmp_path / "file" / "a.txt") as tmp:
            tmp.write_text("x")
    with pytest.raises(InputError, match=r"cannot write .*taken.vtu: it is a folder"):
        check_writable(None, tmp_path / "taken.vtu")
    with pytest.raises(InputError, match=r"file is a file, not a folder"):
        check_writable(tmp_path / "file" / "deeper" / "a.txt")
    with pytest.raises(InputError, match=r"it is a file, not a folder"):
        check_folder(tmp_path / "file")
    check_writable(tmp_path / "new" / "folder" / "a.txt")
    check_folder(tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "taken.vtu"]
