"""How mailprov writes files: whole or not at all, and private when they may hold a password.

Outputs are read by other programs at any moment (a web server serving the
nightly report, a script picking up the JSON of the last check, the next
``letters render --results``); a run killed half-way must leave the previous
file, not half of a new one. Letters and exports holding passwords or their
hashes are created 0600 from the first byte, in folders only the owner can enter.
Runs that must not overlap (the nightly job, two commands writing passwords into
the same letters folder) hold a lock file. Files read from a setting (a CA
certificate) are checked before use, so their fault is named, not the server's.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import cache
from pathlib import Path

from .errors import LockError, OutputError


def unreadable(path: Path) -> str | None:
    """Why the file a setting names cannot be read (None: it can): missing, a folder, not permitted. Found
    later, a CA file the nightly job's user may not read was 'cannot connect' (exit 3), as if the server were
    down."""
    if path.is_dir():
        return "is a folder, not a file"
    try:
        with path.open("rb"):
            return None
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"


def unusable_ca_file(path: str) -> str | None:
    """Why TLS cannot take ``path`` as its CA certificates (None: it can). Found inside a handshake, a damaged PEM
    block read as a server that cannot be reached (exit 3, retried by a nightly job forever), and an empty file
    or a key as the server's certificate failing."""
    why = unreadable(Path(path))
    if why:
        return why
    import ssl

    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError as exc:
        what = "no certificate in PEM form" if exc.reason == "NO_CERTIFICATE_OR_CRL_FOUND" else "a damaged PEM block"
        return f"holds {what}: give the PEM file of the CA that signed the server's certificate"
    return None


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an operating-system error about ``path`` into one line an operator can act on (exit 2)."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            # mkdir and open say 'File exists' / 'Not a directory' when a file stands where a folder must
            blocking = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
            if blocking is not None and blocking != path:
                reason = f"{blocking} is a file, not a folder"
        raise OutputError(path, reason) from None


def check_writable(path: Path) -> None:
    """Before a long run: prove ``path`` can be written (its folder made, a file created and removed there)."""
    if path.is_dir():  # the probe beside it would pass, and the lock beside it land in its parent
        raise OutputError(path, "is a folder: give a file name")
    probe = path.with_name(f".{path.name}.{os.getpid()}.probe")
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)


def write_whole(path: Path, data: bytes | str, mode: int = 0o666) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file renamed into place.

    The mode is ``mode`` narrowed by the umask, from the first byte on, as for any other file the operator's
    tools write. The folder is made if missing, and left as it is: it is the operator's (unlike the letters'
    folders, see ``private_folder``).
    """
    with writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace(path, data.encode("utf-8") if isinstance(data, str) else data, mode)


def private_folder(path: Path) -> None:
    """Create ``path`` (and parents) so that only the owner can enter the last level, which must be the user's
    own: whoever owns a folder made beforehand (in a shared /tmp) could replace the letters in it, and root's
    chmod would not stop them."""
    path.mkdir(parents=True, exist_ok=True)
    owner = path.stat().st_uid
    if owner != os.geteuid():
        raise OutputError(path, f"it belongs to another user (uid {owner}), who could replace the letters in it")
    os.chmod(path, 0o700)


def write_private(path: Path, data: bytes | str, folder_ready: bool = False, fresh: bool = False) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte (then rename into place).

    The file never exists with wider permissions, not even for an instant
    (the umask can only narrow 0600), and a crash leaves either the old
    letter or the new one, never half of it. ``folder_ready`` skips making
    the folder private again when the caller already did.

    ``fresh``: when no file is there yet, create it in place (one file-system
    operation instead of two; on slow disks the letters of a large apply
    were most of its time). Only for a letter whose password is not set
    anywhere yet: half of it after a crash is replaced by the re-run's.

    A new file is not waited for: ``make_durable`` puts many letters on the
    disk at once, before the directory takes their passwords. A file replaced
    is synced before the rename, which is what keeps the old letter whole.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with writing(path):
        if not folder_ready:
            private_folder(path.parent)
        if fresh:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # an earlier letter: replaced whole, below
            else:
                try:
                    _fill(fd, raw)
                except BaseException:
                    # a full disk must not leave the start of a letter behind: it would look like a letter
                    path.unlink(missing_ok=True)
                    raise
                return
        _replace(path, raw, 0o600, durable=True)  # a letter replaced: the old one may hold a valid password


def make_durable(files: Collection[Path], folders: Collection[Path]) -> None:
    """Put ``files`` and the entries of ``folders`` (the folders the files are in, and new parents) on the disk.

    One ``syncfs(2)`` of each file system they are on, where the system has
    it: on this VM's disk it made 250 letters durable in 4 ms, where an
    ``fsync`` of each took 200 us a letter (50 ms). Elsewhere each file, then
    each folder (deepest first), is synced on its own. syncfs also writes
    whatever else is waiting for that disk, which can make it slower, never
    less safe. A file removed meanwhile (a letter discarded) is skipped.
    """
    if not folders:
        return
    syncfs = _syncfs()
    if syncfs is not None and _sync_file_systems(syncfs, folders):
        return
    for path in files:
        with writing(path):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        sync_folder(folder)


def _sync_file_systems(syncfs: Callable[[int], int], folders: Collection[Path]) -> bool:
    """syncfs each file system ``folders`` are on; False when the kernel refuses the call itself (ENOSYS)."""
    import ctypes

    devices: dict[int, Path] = {}
    for folder in folders:
        with writing(folder):
            devices.setdefault(os.stat(folder).st_dev, folder)
    for folder in devices.values():
        with writing(folder):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                if syncfs(fd) != 0:
                    code = ctypes.get_errno()
                    if code == errno.ENOSYS:  # a sandbox that filters the call
                        return False
                    raise OSError(code, os.strerror(code))
            finally:
                os.close(fd)
    return True


@cache
def _syncfs() -> Callable[[int], int] | None:
    """libc's syncfs (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        call: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    return call


def sync_folder(path: Path) -> None:
    """Make the files created or renamed in ``path`` durable (their names are in the folder, not the files)."""
    with writing(path):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        except OSError as exc:
            # some file systems (FUSE, some network ones) cannot sync a folder; their files were synced
            if exc.errno not in (errno.EINVAL, errno.ENOTSUP):
                raise
        finally:
            os.close(fd)


def _fill(fd: int, raw: bytes, durable: bool = False) -> None:
    """Write all of ``raw`` to the new file ``fd`` (on the disk if ``durable``) and close it."""
    try:
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def _replace(path: Path, raw: bytes, mode: int, durable: bool = False) -> None:
    """A temporary file next to ``path``, then an atomic rename over it.

    ``durable``: the new content is on the disk before the rename, so a crash
    right after it leaves the old file or the whole new one, not an empty one
    (not every file system flushes a file renamed over another, as ext4 does).
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        _fill(fd, raw, durable)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


#: in the letters folder
LETTERS_LOCK = ".lock"


@contextmanager
def run_lock(path: Path, tidy: bool = False) -> Iterator[None]:
    """An exclusive lock on ``path`` (the kernel drops it if the process dies).

    ``tidy``: when the lock made ``path``'s folder, remove the lock file and the folder again at the
    end if nothing else was put there (an apply that wrote no letter leaves no letters folder).
    """
    created = not path.parent.exists()
    with writing(path.parent):  # the folder the operator named, not the lock file in it, when it cannot be made
        path.parent.mkdir(parents=True, exist_ok=True)
    with writing(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # empty when the holder has the lock but has not written its pid yet
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            pid = f" (pid {holder})" if holder else ""
            raise LockError(f"another mailprov run holds {path}{pid}; not starting a second one") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        if tidy and created:  # also after an error or a cancelled run: "nothing was changed" holds
            path.unlink(missing_ok=True)
            with suppress(OSError):  # letters were written into it: it stays
                path.parent.rmdir()
        os.close(fd)


def letters_lock(folder: Path) -> AbstractContextManager[None]:
    """The letters folder's lock, held by every command that writes passwords into it (apply, mailbox add,
    mailbox reset-password): a run whose directory write loses removes the letter it wrote, and in a shared
    folder that file may be the one the winner's password is in."""
    return run_lock(folder / LETTERS_LOCK, tidy=True)
