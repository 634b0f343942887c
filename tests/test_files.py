"""Files are written whole or not at all; private ones are 0600 from the first byte."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from mailprov import files
from mailprov.errors import OutputError


def test_write_whole_replaces_with_the_umask_mode_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "out" / "last-check.json"
    old = os.umask(0o022)
    try:
        files.write_whole(target, '{"old": true}\n')
        files.write_whole(target, b"{}\n")
    finally:
        os.umask(old)
    assert target.read_text() == "{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # a web server may serve the nightly report
    assert [p.name for p in target.parent.iterdir()] == ["last-check.json"]


def _disk_full_after_ten_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    calls = []

    def failing_write(fd: int, data: bytes | memoryview) -> int:
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real_write(fd, bytes(data)[:10])  # a short write first, then the disk is full

    monkeypatch.setattr(os, "write", failing_write)


def test_a_write_that_fails_half_way_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    target.write_text("yesterday's report\n")
    open_before = len(os.listdir("/proc/self/fd"))
    _disk_full_after_ten_bytes(monkeypatch)
    with pytest.raises(OutputError, match=r"report.html: cannot write here \(No space left on device\)"):
        files.write_whole(target, "today's report, much longer than ten bytes\n")
    monkeypatch.undo()
    assert len(os.listdir("/proc/self/fd")) == open_before  # the temporary file's descriptor is closed too
    assert target.read_text() == "yesterday's report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_new_letter_that_fails_half_way_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new letter is created in place (no temporary file): its first bytes must not stay behind, looking
    like a letter whose password was set."""
    letter = tmp_path / "mailboxes" / "budi.md"
    letter.parent.mkdir()
    _disk_full_after_ten_bytes(monkeypatch)
    with pytest.raises(OutputError, match=r"budi.md: cannot write here \(No space left on device\)"):
        files.write_private(letter, "password: a long enough letter\n", folder_ready=True, fresh=True)
    monkeypatch.undo()
    assert list(letter.parent.iterdir()) == []


def test_private_files_are_0600_in_a_0700_folder(tmp_path: Path) -> None:
    letter = tmp_path / "letters" / "budi.md"
    files.write_private(letter, "password: x\n")
    assert stat.S_IMODE(letter.stat().st_mode) == 0o600
    assert stat.S_IMODE(letter.parent.stat().st_mode) == 0o700


def test_a_lock_taken_but_not_yet_signed_names_no_pid(tmp_path: Path) -> None:
    """Between the holder's flock and its pid landing in the file, the file is empty: no "(pid )" then."""
    import fcntl

    from mailprov.errors import LockError

    path = tmp_path / "h.db.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another open file: flock refuses this process too
        with pytest.raises(LockError) as caught, files.run_lock(path):
            pass
        assert str(caught.value) == f"another mailprov run holds {path}; not starting a second one"
    finally:
        os.close(fd)


@pytest.mark.parametrize(("code", "raised"), [(errno.EINVAL, False), (errno.ENOTSUP, False), (errno.EIO, True)])
def test_a_folder_the_file_system_cannot_sync_is_no_error_but_a_failing_disk_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, raised: bool) -> None:
    """Some file systems (FUSE, some network ones) refuse fsync on a folder; the letters in it were synced."""
    def fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", fsync)
    if raised:
        with pytest.raises(OutputError, match="Input/output error"):
            files.sync_folder(tmp_path)
    else:
        files.sync_folder(tmp_path)


def _recorded_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths fsync'ed from now on, in order."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def _two_letters(folder: Path) -> list[Path]:
    paths = [folder / "a.md", folder / "b.md"]
    for path in paths:
        files.write_private(path, "Kata sandi: x\n", fresh=True)
    return paths


@pytest.mark.parametrize(("code", "fallback"), [(errno.ENOSYS, True), (errno.EIO, False)])
def test_make_durable_falls_back_to_fsync_only_where_syncfs_is_filtered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, fallback: bool) -> None:
    """A sandbox that filters syncfs (ENOSYS) gets an fsync of each file and folder; a disk failing under
    syncfs (EIO) is an error, as it is under fsync."""
    import ctypes

    paths = _two_letters(tmp_path)
    synced = _recorded_fsyncs(monkeypatch)

    def syncfs(fd: int) -> int:
        ctypes.set_errno(code)
        return -1

    monkeypatch.setattr(files, "_syncfs", lambda: syncfs)
    if fallback:
        files.make_durable(paths, [tmp_path])
        assert synced == [str(paths[0]), str(paths[1]), str(tmp_path)]
    else:
        with pytest.raises(OutputError, match="Input/output error"):
            files.make_durable(paths, [tmp_path])
        assert synced == []


def test_make_durable_without_syncfs_skips_a_letter_removed_meanwhile(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _two_letters(tmp_path)
    paths[0].unlink()  # discarded: its password was refused
    synced = _recorded_fsyncs(monkeypatch)
    monkeypatch.setattr(files, "_syncfs", lambda: None)
    files.make_durable(paths, [tmp_path])
    assert synced == [str(paths[1]), str(tmp_path)]


def test_a_replaced_letter_is_on_the_disk_before_it_takes_the_old_one_s_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash right after the rename must leave the old letter or the whole new one (its password may be the
    one that works): the new content is synced first. A new letter waits for the batch's sync instead."""
    letter = tmp_path / "a.md"
    files.write_private(letter, "Kata sandi: lama\n", fresh=True)
    synced = _recorded_fsyncs(monkeypatch)
    files.write_private(tmp_path / "b.md", "Kata sandi: baru\n", fresh=True)
    assert synced == []
    files.write_private(letter, "Kata sandi: baru\n", fresh=True)
    (temporary,) = synced
    assert temporary.startswith(str(tmp_path / ".a.md.")) and temporary.endswith(".tmp")
    assert letter.read_text() == "Kata sandi: baru\n"
