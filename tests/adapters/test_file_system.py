"""graphfree-fix writes like a careful editor: links kept, owner and mode kept, read-only and
concurrently edited files refused, no temporary file left behind, unlistable folders reported."""
import os
import signal
import stat
import sys

import pytest

from flake8_graphfree.adapters import cli

from ..conftest import graphfree_fix, run

SEED = b"for b in loader:\n    loss = model(b)\n    loss.backward()\n"
FIXED = SEED + b"    del loss\n"


def temporaries(folder):
    return [n for n in os.listdir(folder) if n.startswith(".graphfree-")]


def test_a_symlink_stays_a_link_and_its_target_is_fixed(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "train.py"
    target.write_bytes(SEED)
    (tmp_path / "link.py").symlink_to(target)
    result = graphfree_fix(str(tmp_path))
    assert result.returncode == 0, result.stderr.decode()
    assert (tmp_path / "link.py").is_symlink() and target.read_bytes() == FIXED
    assert b"1 changed, 1 fix applied" in result.stdout  # the link and its target: fixed once


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_owner_group_and_set_uid_bit_are_kept(tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(SEED)
    os.chown(path, 1234, 2345)
    os.chmod(path, 0o4755)
    assert graphfree_fix(str(path)).returncode == 0
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 2345, 0o4755)
    assert path.read_bytes() == FIXED


def test_a_read_only_file_is_refused(tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(SEED)
    os.chmod(path, 0o444)
    result = graphfree_fix(str(path))
    assert result.returncode == 2
    assert result.stderr.decode() == f"{path}: error: cannot write: read-only\n"
    assert path.read_bytes() == SEED and not temporaries(tmp_path)


def test_an_unlistable_folder_is_an_error_not_a_pass(tmp_path, monkeypatch, capsys):
    (tmp_path / "secret").mkdir()
    (tmp_path / "ok.py").write_bytes(FIXED)
    real_scandir = os.scandir

    def scandir(path="."):  # root can list anything; this is what a user without access sees
        if os.fspath(path).endswith("secret"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert cli.main(["--check", "-j", "1", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"{tmp_path}/secret: error: cannot list: Permission denied\n"


def test_a_file_edited_during_the_run_is_not_overwritten(tmp_path, monkeypatch, capsys):
    import flake8_graphfree.fix as fix

    path = tmp_path / "train.py"
    path.write_bytes(SEED)
    real_fix = fix.fix_source

    def fix_while_the_user_saves(source, selected=None, **options):
        result = real_fix(source, selected, **options)
        path.write_bytes(SEED + b"# saved meanwhile\n")
        return result

    monkeypatch.setattr(fix, "fix_source", fix_while_the_user_saves)
    assert cli.main(["-j", "1", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}: error: cannot write: the file changed while it was being fixed; run again\n")
    assert path.read_bytes() == SEED + b"# saved meanwhile\n" and not temporaries(tmp_path)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_write_leaves_no_temporary_file(tmp_path, signum, code):
    path = tmp_path / "train.py"
    path.write_bytes(SEED)
    # The signal arrives after the temporary file is written, just before the rename.
    # A background job of a non-interactive shell (as CI may be) starts with SIGINT ignored:
    # restore Python's own handler, as a user's terminal has it.
    script = (f"import os, signal, sys, flake8_graphfree.adapters.files as f\n"
              f"signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              f"f.os.replace = lambda *a: os.kill(os.getpid(), {int(signum)})\n"
              f"from flake8_graphfree.adapters.cli import main\nsys.exit(main(['-j', '1', {str(path)!r}]))\n")
    result = run([sys.executable, "-c", script])
    assert result.returncode == code, result.stderr.decode()
    assert b"Traceback" not in result.stderr
    assert path.read_bytes() == SEED and not temporaries(tmp_path)


def test_temporaries_of_a_killed_run_are_removed(tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(SEED)
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    (tmp_path / f".graphfree-{dead}-abc.tmp").write_bytes(b"half")
    (tmp_path / f".graphfree-{os.getpid()}-abc.tmp").write_bytes(b"a live run's")
    assert graphfree_fix(str(path)).returncode == 0
    assert temporaries(tmp_path) == [f".graphfree-{os.getpid()}-abc.tmp"]


def test_cr_only_line_endings_keep_their_final_newline(tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(SEED.replace(b"\n", b"\r"))
    assert graphfree_fix(str(path)).returncode == 0
    assert path.read_bytes() == FIXED.replace(b"\n", b"\r")
