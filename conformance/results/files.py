"""How every report file reaches its directory.

A run's files are published together: they are written into a fresh folder beside the report
directory (with the directory's other files linked in) and swapped in at once, so a reader
never sees a new ``results.json`` beside an old ``index.html``, and a killed run leaves the
earlier set whole. Single files are written atomically (a temporary file, then a rename).
Temporary files and folders carry their process id: those of a process that is gone (killed,
out of memory) are removed by the next command that writes there. A report directory is
checked before any work: writable, not the root or the current directory, no other folders.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conformance.bounds import printable
from conformance.errors import UsageError

#: The files a report directory holds; anything else there is carried along untouched.
REPORT_FILES = ("results.json", "junit.xml", "index.html", "history.jsonl", "diff.json")
#: How long a run waits for another one publishing to the same report directory.
PUBLISH_WAIT_S = 300.0
#: ``.<name>.<pid>.<random>.<tmp|new|old>``: what a writer leaves while it works.
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<random>[A-Za-z0-9_]+)\.(?P<kind>tmp|new|old)$")


def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(directory: Path) -> None:
    """Remove what killed writers left in ``directory``: temporary files and staging folders of
    processes that are gone. A report directory that a killed swap had set aside is put back."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _LEFTOVER.match(entry.name)
        if not match or process_alive(int(match["pid"])):
            continue
        original = directory / match["name"]
        if match["kind"] == "old" and not os.path.lexists(original):
            os.rename(entry, original)  # the swap was cut between its two renames: undo it
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step; on failure the old file is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path.parent)
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_writable(directory: Path) -> None:
    """Fail early, before any work, when a directory cannot be written (or is the root)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write reports to {directory}: {exc.strerror or exc}") from None
    resolved = directory.resolve()
    if resolved == Path(resolved.anchor):
        raise UsageError(f"cannot write reports to {directory}: it is the root directory")


def ensure_report_dir(directory: Path) -> None:
    """Fail early when ``directory`` cannot take a run's report set: it cannot be written, it is
    the root, or it holds other folders (``.``, a home), which a report must not replace."""
    ensure_writable(directory)
    resolved = directory.resolve()
    if resolved == Path.cwd().resolve():
        raise UsageError(
            f"cannot write reports to {directory}: it is the current directory; name a folder in it"
        )
    foreign = next((e for e in sorted(resolved.iterdir()) if not _carried(e)), None)
    if foreign is not None:
        raise UsageError(
            f"cannot write reports to {directory}: it holds {printable(foreign.name)!r}, which is no "
            "report file; give --report-dir a folder of its own"
        )
    try:
        tempfile.TemporaryDirectory(dir=resolved.parent).cleanup()
    except OSError as exc:
        raise UsageError(
            f"cannot write reports to {directory}: {resolved.parent}: {exc.strerror or exc}"
        ) from None


def _carried(entry: Path) -> bool:
    """Whether publishing can carry ``entry`` into the new set: a file or a link (never followed)."""
    return entry.is_symlink() or entry.is_file() or bool(_LEFTOVER.match(entry.name))


@contextmanager
def publishing(directory: Path) -> Iterator[None]:
    """Held while a report set is drawn from what ``directory`` holds (its history) and published
    there: runs publishing to one directory take turns, so none publishes a history without the
    line another just added. The lock is an ``flock`` on the directory's parent (the directory
    itself is swapped out), which the system releases when its holder dies."""
    parent = (directory.resolve() if directory.exists() else directory.absolute()).parent
    parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(parent, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        deadline = time.monotonic() + PUBLISH_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise UsageError(
                        f"cannot write reports to {directory}: another run has been publishing there "
                        f"for {PUBLISH_WAIT_S:.0f} s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(handle)


def publish(directory: Path, files: dict[str, str]) -> None:
    """Write ``files`` (name -> text) into ``directory`` together.

    They are written into a fresh folder beside it, with every other file of ``directory``
    linked in (links are carried, never followed), and the two folders are swapped in one step
    (``renameat2(RENAME_EXCHANGE)``; elsewhere two renames that the next writer completes).
    A directory holding other folders is written file by file instead, each atomically.
    """
    directory = directory.resolve() if directory.exists() else directory.absolute()
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(parent)
    if directory.is_dir():
        clean_leftovers(directory)
        if not all(_carried(entry) for entry in directory.iterdir()):
            for name, text in files.items():
                write_atomic(directory / name, text)
            return
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{directory.name}.{os.getpid()}.", suffix=".new"))
    try:
        if directory.is_dir():
            for entry in directory.iterdir():
                if entry.name not in files and not _LEFTOVER.match(entry.name):
                    _carry(entry, staging / entry.name)
        for name, text in files.items():
            with open(staging / name, "w", encoding="utf-8") as stream:
                stream.write(text)
        os.chmod(staging, 0o777 & ~_umask())
        _swap(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after the swap it holds the earlier set


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _carry(source: Path, target: Path) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target, follow_symlinks=False)


def _swap(new: Path, old: Path) -> None:
    """Put the folder ``new`` where ``old`` is, in one step where the system can."""
    if not os.path.lexists(old):
        os.rename(new, old)
        return
    if _exchange(new, old):
        return
    aside = old.with_name(f".{old.name}.{os.getpid()}.{os.urandom(4).hex()}.old")
    os.rename(old, aside)  # a kill here is undone by the next writer (clean_leftovers)
    os.rename(new, old)
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); ``False`` where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(second))
