"""Where linewise writes: every writer (``run -o``, ``merge``, ``view --html``, ``diff
--html``, ``LineProfiler.dump_stats``) follows the same rules, never clobbering what is at
the path:

- a symlink is followed and the file it names written (created when the link dangles);
- a device or a FIFO is written through, not replaced by a regular file;
- a directory, a socket or a symlink loop is refused before anything runs or is loaded;
- a replaced regular file keeps its mode, a new file gets 0666 & ~umask;
- temporary files of the same path left by a dead writer are removed, no others;
- ``-o -`` saves nothing.

The CLI writers run in a subprocess; dump_stats runs in this process. Device nodes are made
with os.mknod in tmp_path (root only) instead of touching the real /dev/null and /dev/full.
"""
from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
import threading

import pytest

from linewise import LineProfiler, LineStats, load_stats
from linewise.store import dump_stats
from conftest import run_linewise

PROGRAM = """\
@profile
def work():
    total = 0
    for i in range(10):
        total += i
    return total


print("ran", work())
"""

MAGIC = b"\x89LWR\r\n\x1a\n"
CLI_WRITERS = ["run", "merge", "html", "diff-html"]
WRITERS = CLI_WRITERS + ["dump_stats"]


def lw(*args, cwd, umask=None):
    return run_linewise(*args, cwd=cwd, timeout=60,
                        preexec_fn=None if umask is None else (lambda: os.umask(umask)))


def _work():
    total = 0
    for i in range(10):
        total += i
    return total


@pytest.fixture
def here(tmp_path):
    """tmp_path with prog.py and a results file in.lw to merge and view."""
    (tmp_path / "prog.py").write_text(PROGRAM)
    stats = LineStats({("prog.py", 2, "work"): [(3, 1, 100), (4, 11, 200)]},
                      sources={("prog.py", 2, "work"): ["def work():\n", "    total = 0\n",
                                                        "    for i in range(10):\n"]})
    dump_stats(stats, str(tmp_path / "in.lw"))
    return tmp_path


class Result:
    """What one write did: status (0 ok; the exit status; 1 for an OSError of dump_stats),
    its stderr or exception text, the errno of dump_stats' OSError, and stdout."""

    def __init__(self, status, err, stdout="", errno_=None):
        self.status, self.err, self.stdout, self.errno = status, err, stdout, errno_

    def __repr__(self):
        return f"Result({self.status}, {self.err!r}, {self.stdout!r})"


def write(writer, path, here, *extra, umask=None) -> Result:
    """Writes results (or a page) to `path` with `writer`."""
    if writer == "dump_stats":
        lp = LineProfiler()
        func = lp(_work)
        func()
        old = None if umask is None else os.umask(umask)
        try:
            lp.dump_stats(path)
        except OSError as exc:
            return Result(1, str(exc), errno_=exc.errno)
        finally:
            if old is not None:
                os.umask(old)
        return Result(0, "")
    args = {"run": ["run", *extra, "-o", path, "prog.py"],
            "merge": ["merge", "-f", path, "in.lw"],
            "html": ["view", "--html", path, "in.lw"],
            "diff-html": ["diff", "--html", path, "in.lw", "in.lw"]}[writer]
    r = lw(*args, cwd=here, umask=umask)
    return Result(r.returncode, r.stderr, r.stdout)


def check_written(writer, data: bytes, tmp_path):
    """Asserts `data` is what `writer` writes: a results file, or an HTML page."""
    if writer in ("html", "diff-html"):
        assert data.startswith(b"<!DOCTYPE html>"), data[:100]
        return
    assert data.startswith(MAGIC), data[:100]
    copy = tmp_path / "copy.lw"
    copy.write_bytes(data)
    names = {name for _, _, name in load_stats(str(copy)).timings}
    assert names and all(n.endswith("work") for n in names), names


def one_line(result, status) -> str:
    assert result.status == status, result
    lines = result.err.splitlines()
    assert len(lines) == 1, result
    assert "Traceback" not in result.err
    return lines[0]


def refusal(result, writer) -> str:
    """The one line of a refusal before anything ran or was loaded: a usage error (2) for
    run and merge; view and diff exit with 1 for a page they cannot write."""
    line = one_line(result, 1 if writer in ("html", "diff-html") else 2)
    assert "ran" not in result.stdout
    return line


def leftovers(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith((".tmp", ".probe")))


# -- symlinks ----------------------------------------------------------------------------


@pytest.mark.parametrize("writer", WRITERS)
def test_symlink_is_followed_and_its_target_written(here, writer):
    real = here / "real"
    real.mkdir()
    target = real / "target.out"
    target.write_bytes(b"old contents\n")
    link = here / "link.out"
    link.symlink_to(os.path.join("real", "target.out"))
    result = write(writer, str(link), here)
    assert result.status == 0, result
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "target.out")
    check_written(writer, target.read_bytes(), here)
    assert leftovers(here) == [] and leftovers(real) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_chain_of_symlinks_is_followed(here, writer):
    sub = here / "sub"
    sub.mkdir()
    target = sub / "t.out"
    target.write_bytes(b"old")
    (sub / "b").symlink_to("t.out")  # relative to sub/, not to the current directory
    (here / "a").symlink_to("sub/b")
    assert write(writer, str(here / "a"), here).status == 0
    assert (here / "a").is_symlink() and (sub / "b").is_symlink()
    check_written(writer, target.read_bytes(), here)


@pytest.mark.parametrize("writer", WRITERS)
def test_dangling_symlink_gets_its_target_created(here, writer):
    (here / "real").mkdir()
    link = here / "link.out"
    link.symlink_to(here / "real" / "new.out")
    result = write(writer, str(link), here)
    assert result.status == 0, result
    assert link.is_symlink()
    check_written(writer, (here / "real" / "new.out").read_bytes(), here)


@pytest.mark.parametrize("writer", CLI_WRITERS)
def test_symlink_into_missing_directory_is_refused_before_running(here, writer):
    link = here / "link.out"
    link.symlink_to(here / "gone" / "new.out")
    result = write(writer, str(link), here)
    line = refusal(result, writer)
    assert f"directory {here / 'gone'} does not exist" in line
    assert link.is_symlink()


@pytest.mark.parametrize("writer", WRITERS)
def test_symlink_loop_is_refused(here, writer):
    (here / "loop1").symlink_to("loop2")
    (here / "loop2").symlink_to("loop1")
    result = write(writer, str(here / "loop1"), here)
    if writer == "dump_stats":
        assert result.status == 1 and result.errno == errno.ELOOP, result
    else:
        line = refusal(result, writer)
        assert "too many levels of symbolic links" in line.lower(), line
    assert (here / "loop1").is_symlink() and (here / "loop2").is_symlink()


# -- devices, FIFOs, sockets, directories ------------------------------------------------


def _node(path, major, minor):
    """A character device (major, minor) at path, or skip."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    try:
        os.close(os.open(path, os.O_WRONLY))
    except OSError as exc:  # a nodev mount
        pytest.skip(f"cannot open a device node here: {exc}")
    return path


@pytest.mark.parametrize("writer", WRITERS)
def test_dev_null_is_written_through_not_replaced(here, writer):
    null = _node(here / "null", 1, 3)
    result = write(writer, str(null), here)
    assert result.status == 0, result
    st = os.lstat(null)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert leftovers(here) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_dev_full_fails_with_one_clear_line_and_stays_a_device(here, writer):
    full = _node(here / "full", 1, 7)
    extra = ("-v",) if writer == "run" else ()
    result = write(writer, str(full), here, *extra)
    if writer == "dump_stats":
        assert result.status == 1 and result.errno == errno.ENOSPC, result
    else:
        line = one_line(result, 1)
        assert line.startswith("linewise") and "No space left on device" in line
        assert str(full) in line
    if writer == "run":  # nothing else lost: the program's output and the report
        assert "ran 45" in result.stdout and "Timer unit" in result.stdout
    st = os.lstat(full)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 7)
    assert leftovers(here) == []


@pytest.mark.parametrize("writer", WRITERS)
def test_fifo_receives_the_bytes(here, writer):
    fifo = here / "fifo"
    os.mkfifo(fifo)
    alias = here / "fifo-alias"  # another name of the FIFO, to unblock the reader if needed
    os.link(fifo, alias)
    got = []

    def reader():
        with open(alias, "rb") as f:
            got.append(f.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        result = write(writer, str(fifo), here)
    finally:
        thread.join(10)
        if thread.is_alive():  # nothing wrote to the FIFO: let the reader end
            os.close(os.open(alias, os.O_WRONLY | os.O_NONBLOCK))
            thread.join(10)
    assert result.status == 0, result
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    check_written(writer, got[0], here)


@pytest.mark.parametrize("writer", WRITERS)
def test_socket_is_refused_with_one_line(here, writer):
    path = here / "sock"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        result = write(writer, str(path), here)
    finally:
        sock.close()
    if writer == "dump_stats":
        assert result.status == 1 and "socket" in result.err, result
    else:
        line = refusal(result, writer)
        assert line.endswith(f"{path}: it is a socket: no file can be written there"), line
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("via_link", [False, True], ids=["dir", "link-to-dir"])
def test_directory_is_refused_before_anything(here, writer, via_link):
    (here / "d").mkdir()
    path = here / "d"
    if via_link:
        (here / "l").symlink_to("d")
        path = here / "l"
    if writer in ("merge", "html", "diff-html"):
        (here / "in.lw").write_bytes(b"not results")  # loading it would fail first
    result = write(writer, str(path), here)
    if writer == "dump_stats":
        assert result.status == 1 and result.errno == errno.EISDIR, result
    else:
        line = refusal(result, writer)
        assert line.endswith(f"{path}: it is a directory"), line
    assert os.listdir(here / "d") == []


# -- modes -------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", WRITERS)
def test_replaced_file_keeps_its_mode(here, writer):
    path = here / "out"
    path.write_bytes(b"old")
    path.chmod(0o640)
    assert write(writer, str(path), here, umask=0o022).status == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    check_written(writer, path.read_bytes(), here)


@pytest.mark.parametrize("writer", WRITERS)
def test_new_file_gets_0666_less_umask(here, writer):
    path = here / "new.out"
    assert write(writer, str(path), here, umask=0o002).status == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o664


# -- stale temporary files ---------------------------------------------------------------


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    try:
        os.kill(p.pid, 0)
    except ProcessLookupError:
        return p.pid
    pytest.skip("the pid of a finished process was reused at once")


@pytest.mark.parametrize("writer", WRITERS)
def test_stale_temporary_files_of_dead_writers_are_removed(here, writer):
    name = "out.lw"
    dead = _dead_pid()
    alive = os.getppid()  # the process that started pytest: alive, and not the writer
    stale = [f"{name}.{dead}.0.tmp", f"{name}.{dead}.300.tmp"]
    kept = [f"{name}.{alive}.0.tmp",     # a live process may be writing it
            f"{name}.1.7.tmp",           # init: alive (EPERM for other users)
            f"{name}.{dead}.0.tmp.bak",  # not the pattern, exactly:
            f"{name}.{dead}.tmp",
            f"{name}.{dead}.01.tmp",
            f"{name}.{dead}.x.tmp",
            f"{name}.+{dead}.0.tmp",
            f"x{name}.{dead}.0.tmp",     # another path's
            f"{name}x.{dead}.0.tmp",
            f"other.lw.{dead}.0.tmp"]
    for n in stale + kept:
        (here / n).write_bytes(b"x" * 71)
    os.mkdir(here / f"{name}.{dead}.9.tmp")  # not a regular file
    result = write(writer, str(here / name), here)
    assert result.status == 0, result
    check_written(writer, (here / name).read_bytes(), here)
    present = set(os.listdir(here))
    assert not present & set(stale), present
    assert set(kept) <= present, set(kept) - present
    assert f"{name}.{dead}.9.tmp" in present


def test_stale_temporary_file_of_a_killed_dump_is_removed_by_the_next(here):
    """The issue's case: a writer killed with SIGKILL mid-dump leaves its temporary file;
    the next write to the same path removes it."""
    path = here / "big.lw"
    child = subprocess.Popen(
        [sys.executable, "-c", "import os, sys, time\n"
         "name = sys.argv[1] + '.%d.0.tmp' % os.getpid()\n"
         "with open(name, 'wb') as f: f.write(b'partial' * 1000)\n"
         "print(name, flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True)
    tmp = child.stdout.readline().strip()
    child.kill()
    child.wait()
    child.stdout.close()
    assert os.path.exists(tmp)
    assert write("dump_stats", str(path), here).status == 0
    assert not os.path.exists(tmp) and load_stats(str(path)).timings


# -- "-o -" ------------------------------------------------------------------------------


def test_dash_means_do_not_save(here):
    r = lw("run", "-o", "-", "prog.py", cwd=here)
    assert r.returncode == 0, r.stderr
    assert "results neither saved" in r.stderr
    assert not (here / "-").exists()
    assert sorted(os.listdir(here)) == ["in.lw", "prog.py"]


# -- the engine's entry points -----------------------------------------------------------


def test_write_file_and_output_target_reject_bad_arguments(tmp_path):
    from linewise import _engine

    for call in (lambda: _engine.write_file(str(tmp_path / "x")),
                 lambda: _engine.write_file(str(tmp_path / "x"), "text"),
                 lambda: _engine.write_file(str(tmp_path / "x"), bytearray(b"x")),
                 lambda: _engine.write_file(3.5, b"x"),
                 lambda: _engine.output_target(),
                 lambda: _engine.output_target(None)):
        with pytest.raises(TypeError):
            call()
    with pytest.raises(ValueError):
        _engine.write_file("a\0b", b"x")
    with pytest.raises(ValueError):
        _engine.output_target("a\0b")
    assert os.listdir(tmp_path) == []


def test_output_target_says_where_and_how(tmp_path):
    from linewise import _engine

    (tmp_path / "f").write_bytes(b"")
    (tmp_path / "l").symlink_to("f")
    os.mkfifo(tmp_path / "p")
    assert _engine.output_target(str(tmp_path / "l")) == (str(tmp_path / "f"), "file")
    assert _engine.output_target(os.fsencode(tmp_path / "new")) == (
        os.fsencode(tmp_path / "new"), "new")
    assert _engine.output_target(tmp_path / "p") == (str(tmp_path / "p"), "fifo")
    with pytest.raises(IsADirectoryError):
        _engine.output_target(str(tmp_path))
    _engine.write_file(tmp_path / "l", b"page")
    assert (tmp_path / "l").is_symlink() and (tmp_path / "f").read_bytes() == b"page"
