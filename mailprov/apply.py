"""Carrying out a plan: pipelined batches, one letter per password, nothing lost on a crash.

Order inside a batch of new mailboxes, for the default ``server`` scheme:
generate the passwords and write their letters (0600) while the entries are
being added; when both are done, set the passwords with RFC 3062 Password
Modify. A letter whose entry or password the directory refused is removed.
A run that dies anywhere in between leaves entries that either have the
password of their letter or have no password at all, and the next plan finds
the latter (``userPassword`` absent) and gives them a new password and a new
letter. A run that stops on its own (connection lost, Ctrl-C, a letter that
cannot be written) also removes the letters of the passwords it never sent.
With a client-side scheme the hash travels inside the add (with ``server-add``
the password itself, for the server to hash), so every letter of a batch is
written before the batch is sent, and removed if the add fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import ldapwire as wire
from .errors import LetterError, Terminated
from .ldapnames import first_rdn, parent_dn
from .letters import MailboxLetter, MailboxLetterWriter
from .model import Agency
from .passwords import CLIENT_SCHEMES, POLICY_HINT, client_hash, generate, value_in_add
from .plan import ACTIONS, Change, HeldBack, Plan
from .profiles import Profile

DONE, FAILED, UNKNOWN, SKIPPED = "done", "failed", "unknown", "skipped"
#: changes per batch: a batch's requests are pipelined, its answers read together
BATCH_SIZE = 250
#: a request ready to send: (message id, encoded)
Request = tuple[int, bytes]


@dataclass
class Outcome:
    """What became of one change of an apply: its status, why, and the letter it wrote."""
    change: Change
    status: str = SKIPPED
    message: str = ""
    letter: Path | None = None


@dataclass
class ApplyReport:
    """Every change's outcome, in plan order, and why the run stopped early if it did."""
    outcomes: list[Outcome]
    #: why the run stopped before the end (connection lost, interrupted), if it did
    stopped: str | None = None
    #: the Ctrl-C or SIGTERM that stopped the run, if one did
    interrupted: KeyboardInterrupt | None = None
    #: what the plan left out until the directory changes (``Plan.held_back``)
    held_back: list[HeldBack] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def summary(self) -> dict[str, int]:
        done = dict.fromkeys(ACTIONS, 0)
        for outcome in self.outcomes:
            if outcome.status == DONE:
                done[outcome.change.action] += 1
        return {**done, "failed": self.count(FAILED), "unknown": self.count(UNKNOWN),
                "skipped": self.count(SKIPPED)}

    @property
    def ok(self) -> bool:
        """Every change done and nothing held back: the directory now matches the configuration."""
        return all(o.status == DONE for o in self.outcomes) and not self.held_back

    @property
    def letters(self) -> list[Path]:
        return [o.letter for o in self.outcomes if o.letter is not None and o.status in (DONE, UNKNOWN)]

    def to_dict(self) -> dict[str, Any]:
        changes = []
        for outcome in self.outcomes:
            item = outcome.change.to_dict()
            item["status"] = outcome.status
            if outcome.message:
                item["message"] = outcome.message
            if outcome.letter is not None:
                item["letter"] = str(outcome.letter)
            changes.append(item)
        return {"summary": self.summary, "changes": changes, "stopped": self.stopped,
                "held_back": [held.to_dict() for held in self.held_back]}


def _modify_ops(change: Change) -> list[tuple[int, str, list[str]]]:
    ops: list[tuple[int, str, list[str]]] = []
    for attr, mod in change.modifications.items():
        if attr.lower() == "objectclass":
            have = {v.lower() for v in mod.old}
            ops.append((wire.MOD_ADD, attr, [v for v in mod.new if v.lower() not in have]))
        elif mod.new:
            ops.append((wire.MOD_REPLACE, attr, mod.new))
        elif mod.old:
            ops.append((wire.MOD_DELETE, attr, []))
    return ops


class _Run:
    def __init__(self, writer: MailboxLetterWriter, agencies: dict[str, Agency], profile: Profile, scheme: str,
                 password_length: int, progress: Callable[[int], None] | None) -> None:
        self.writer = writer
        self.agencies = agencies
        self.scheme = scheme
        self.password_length = password_length
        self.progress = progress or (lambda n: None)
        # ppolicy clears pwdAccountLockedTime whenever a password is set, so a
        # disabled mailbox is locked only after its first password
        self.relock = profile.status_modification(False) if profile.status_attribute is None else None
        self.naming_attr = profile.mailbox_rdn.lower()
        #: entries (lower-cased DNs) whose create the directory refused, or that were never sent: their
        #: children are not sent either (each would only come back noSuchObject)
        self.not_created: set[str] = set()
        # two writers: one renders while the other waits on the disk; more only contend for the
        # folder (3,000 files into one folder on this VM: 1 thread 44 us each, 2 24 us, 8 30 us)
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="letters")
        #: every batch ``prepare`` began: a run stopped inside ``prepare`` (Ctrl-C lands anywhere) has started
        #: writing the letters of a batch the caller never got back
        self.made: list[_Batch] = []

    @property
    def in_first_request(self) -> bool:
        """Whether passwords (or their hashes) travel in the adds, so their letters must be on disk first."""
        return self.scheme != "server"

    def carries_password(self, change: Change) -> bool:
        """The change's first request sets its password: a client-side hash in an add or a modify, or the
        password in an add for the server to hash (``server-add``; a modify gets Password Modify)."""
        return self.in_first_request and (change.action == "create" or self.scheme in CLIENT_SCHEMES)

    def _letter(self, item: _Item) -> None:
        change = item.outcome.change
        assert change.mailbox is not None and item.password is not None
        agency = self.agencies[change.agency]
        item.outcome.letter = self.writer.write(MailboxLetter(agency, change.mailbox, item.password))

    def _discard(self, item: _Item) -> None:
        change = item.outcome.change
        if item.outcome.letter is not None and change.mailbox is not None:
            self.writer.discard(self.agencies[change.agency], change.mailbox)
            item.outcome.letter = None

    def _needs_relock(self, change: Change) -> bool:
        return bool(self.relock and change.set_password and change.mailbox and not change.mailbox.active)

    def _first_request(self, item: _Item, mid: int, carried: bool) -> bytes | None:
        """The add/modify/delete of a change (None: only a password to set); ``carried``: with the item's
        password (``carries_password``)."""
        change = item.outcome.change
        password = item.password if carried else None
        if change.action == "create":
            attrs = dict(change.attributes)
            if self._needs_relock(change):
                attrs = {k: v for k, v in attrs.items() if k.lower() != self.profile_lock_attr}
            value = value_in_add(self.scheme, password) if password else None
            if value:
                attrs["userPassword"] = [value]
            return wire.encode_add(mid, change.dn, attrs)
        if change.action == "delete":
            return wire.encode_delete(mid, change.dn)
        ops = _modify_ops(change)
        if change.new_dn:  # the naming value changes with the rename, which comes last
            ops = [op for op in ops if op[1].lower() != self.naming_attr]
        if password:
            ops.append((wire.MOD_REPLACE, "userPassword", [client_hash(self.scheme, password)]))
        return wire.encode_modify(mid, change.dn, ops) if ops else None

    @property
    def profile_lock_attr(self) -> str:
        return next(iter(self.relock)).lower() if self.relock else ""

    @staticmethod
    def _send(pipeline: wire.Pipeline, items: list[_Item], request: Callable[[_Item], Request | None]) -> set[int]:
        """Send each item's request (an item with none gets id 0); the ids sent."""
        requests = []
        for item in items:
            req = request(item)
            if req is None:
                item.mid = 0
            else:
                item.mid = req[0]
                requests.append(req)
        return pipeline.send(requests)

    @staticmethod
    def _encoded_now(pipeline: wire.Pipeline, encode: Callable[[_Item, int], bytes]) -> Callable[[_Item], Request]:
        """Requests encoded as they are sent: those of the rare stages after Password Modify."""
        def request(item: _Item) -> Request:
            mid = pipeline.next_id()
            return mid, encode(item, mid)
        return request

    def _collect(self, pipeline: wire.Pipeline, items: list[_Item], sent: set[int],
                 failed: Callable[[_Item, wire.Result], str]) -> list[_Item]:
        """Wait for the answers to ``sent``; return the items the directory accepted."""
        results = pipeline.collect(sent)
        refusal = next((why for r in results.values() if (why := r.refusal)), None)
        accepted = []
        for item in items:
            result = results.get(item.mid)
            if result is not None and not result.ok:
                item.outcome.status, item.outcome.message = FAILED, failed(item, result)
                self._discard(item)
                if item.outcome.change.action == "create":
                    self.not_created.add(item.outcome.change.dn.lower())
            else:
                accepted.append(item)
        if refusal is not None:
            raise _WritesRefused(refusal)
        return accepted

    def _stage(self, pipeline: wire.Pipeline, items: list[_Item], request: Callable[[_Item], Request | None],
               failed: Callable[[_Item, wire.Result], str]) -> list[_Item]:
        return self._collect(pipeline, items, self._send(pipeline, items, request), failed)

    def prepare(self, outcomes: Sequence[Outcome], pipeline: wire.Pipeline) -> _Batch:
        """Generate the batch's passwords, encode its requests and start writing its letters in the background.

        Called for batch N+1 while the directory still works on batch N, so
        the (slow, on many disks) file creation overlaps the directory's work,
        and so does the encoding: done in ``start`` and ``finish``, it kept the
        directory waiting between batches (10,000 mailboxes: 0.07-0.12 s).
        """
        items = [_Item(outcome) for outcome in outcomes]
        for item in items:
            change = item.outcome.change
            if change.set_password:
                item.password = generate(self.password_length)
            carried = item.password is not None and self.carries_password(change)
            mid = pipeline.next_id()
            data = self._first_request(item, mid, carried)
            item.first = (mid, data) if data is not None else None
            if item.password is not None and not carried:
                mid = pipeline.next_id()
                item.set_password = (mid, wire.encode_password_modify(mid, change.dn, item.password))
        batch = _Batch(items, [], pipeline, outcomes[0].change.phase if outcomes else 0)
        self.made.append(batch)
        # one task per writer thread, not per letter: a task each cost a Future, a lock and a thread
        # switch, 0.12 s of a 10,000-mailbox run
        owed = [item for item in items if item.password]
        half = (len(owed) + 1) // 2
        batch.letters = [self.pool.submit(self._letters, batch, part) for part in (owed[:half], owed[half:]) if part]
        return batch

    def _letters(self, batch: _Batch, items: list[_Item]) -> None:
        for item in items:
            if batch.halted:  # the run stopped: the rest are not written
                return
            self._letter(item)

    def abandon(self, batch: _Batch) -> None:
        """A prepared batch that will not run: its letters hold passwords nobody set."""
        batch.stop_letters()
        for item in batch.items:
            self._discard(item)

    def settle(self, batch: _Batch) -> None:
        """A started batch the run stopped in: say what became of it, and remove the letters whose
        passwords were never sent (a stopped run must not leave letters that look handed out)."""
        batch.stop_letters()
        for item in batch.items:
            outcome = item.outcome
            if item.password is not None and not item.password_sent:
                with suppress(OSError):  # a disk failing under the letters: the next apply replaces them
                    self._discard(item)
                if outcome.status == UNKNOWN:
                    outcome.message = ("the run stopped before the directory answered, and before its password "
                                       "was set; the next apply gives it one (and a new letter)")
            elif outcome.status == UNKNOWN and not outcome.message:
                outcome.message = "the run stopped before the directory answered; the next plan shows what was done"

    def _skip_orphans(self, batch: _Batch) -> None:
        """Leave out the creates whose parent entry was not created (batches never mix phases, so the
        parents' answers are in when a batch of children starts)."""
        orphans = [item for item in batch.items if item.outcome.change.action == "create"
                   and parent_dn(item.outcome.change.dn).lower() in self.not_created]
        if not orphans:
            return
        batch.wait_letters()  # written meanwhile: each is removed below
        for item in orphans:
            change = item.outcome.change
            self._discard(item)
            item.outcome.message = f"not sent: its parent {parent_dn(change.dn)} was not created"
            self.not_created.add(change.dn.lower())
        batch.items = [item for item in batch.items if item not in orphans]
        self.progress(len(orphans))

    def start(self, batch: _Batch) -> None:
        """Send the batch's first requests (adds, modifies, deletes) without waiting for the answers.

        From here on a lost connection leaves the batch's outcomes UNKNOWN.
        """
        batch.started = True
        self._skip_orphans(batch)
        if self.in_first_request:  # every letter first
            batch.wait_letters()
            self.writer.sync()
        for item in batch.items:
            item.outcome.status = UNKNOWN
            item.password_sent = item.password is not None and self.carries_password(item.outcome.change)
        batch.sent = self._send(batch.pipeline, batch.items, lambda item: item.first)

    def finish(self, batch: _Batch) -> None:
        """Collect the first answers, and send the Password Modify requests (server scheme) without waiting for
        their answers: ``complete`` reads them after the next batch has gone out, so the directory always has
        requests waiting (waiting here left it idle between batches)."""
        if not self.in_first_request:
            # the entries are being added while the letters are written; the password each
            # letter holds is set only after both are done
            batch.wait_letters()
            self.writer.sync()
        done = self._collect(batch.pipeline, batch.items, batch.sent, _refused)
        batch.passwords = [item for item in done if item.password and not item.password_sent]
        batch.done = [item for item in done if not item.password or item.password_sent]
        for item in batch.passwords:
            item.password_sent = True
        batch.sent = self._send(batch.pipeline, batch.passwords, lambda item: item.set_password)
        for item in batch.done:  # what needs no later request is done now, should the run stop before ``complete``
            if not item.outcome.change.new_dn and not self._needs_relock(item.outcome.change):
                item.outcome.status = DONE

    def complete(self, batch: _Batch) -> None:
        """Collect the Password Modify answers ``finish`` left, then lock what must stay locked and rename."""
        done = list(batch.done)  # batch.done stays what finish found
        if batch.passwords:
            done += self._collect(
                batch.pipeline, batch.passwords, batch.sent,
                lambda item, result: f"{_what(item)}, but the password could not be set ({result.describe()})"
                                     f"{POLICY_HINT if result.code == wire.CONSTRAINT_VIOLATION else ''}; re-run apply")
        relock = self.relock
        to_lock = [item for item in done if relock and self._needs_relock(item.outcome.change)]
        if relock and to_lock:
            ops = [(wire.MOD_REPLACE, attr, values) for attr, values in relock.items()]
            locked = self._stage(
                batch.pipeline, to_lock, self._encoded_now(
                    batch.pipeline, lambda item, mid: wire.encode_modify(mid, item.outcome.change.dn, ops)),
                lambda item, result: f"{_what(item)}, but could not be disabled ({result.describe()}); re-run apply")
            done = [item for item in done if item not in to_lock] + locked
        to_rename = [item for item in done if item.outcome.change.new_dn]
        if to_rename:
            renamed = self._stage(
                batch.pipeline, to_rename, self._encoded_now(batch.pipeline, lambda item, mid: wire.encode_modify_dn(
                    mid, item.outcome.change.dn, first_rdn(item.outcome.change.new_dn or ""))),
                lambda item, result: f"{_what(item)}, but could not be renamed to {item.outcome.change.new_dn} "
                                     f"({result.describe()}); re-run apply")
            done = [item for item in done if item not in to_rename] + renamed
        for item in done:
            item.outcome.status = DONE
        batch.finished = True
        self.progress(len(batch.items))


@dataclass
class _Batch:
    """Mailboxes created together: their requests in flight and the letters being written."""
    items: list[_Item]
    letters: list[Future[None]]
    #: the connection its requests go over
    pipeline: wire.Pipeline
    phase: int = 0
    started: bool = False
    finished: bool = False
    #: ids of the requests in flight: the first ones (sent by ``start``), then the Password Modify ones (``finish``)
    sent: set[int] = field(default_factory=set)
    #: after ``finish``: the items whose first request was accepted and that set no password after it, and those
    #: whose Password Modify request is in flight
    done: list[_Item] = field(default_factory=list)
    passwords: list[_Item] = field(default_factory=list)
    #: set when the run stops: the letters not yet written are left out
    halted: bool = False

    def stop_letters(self) -> None:
        """Stop writing letters and wait for the one being written (else one could appear after its letter
        was removed)."""
        self.halted = True
        for future in self.letters:
            future.cancel()
        wait(self.letters)

    def wait_letters(self) -> None:
        for future in self.letters:
            future.result()


@dataclass(eq=False)
class _Item:
    """One change of a batch with the password it sets and the request that carries it."""
    outcome: Outcome
    password: str | None = None
    mid: int = 0
    #: the password's request has left (or the hash's add): from then on its letter is kept
    password_sent: bool = False
    #: its first request (add, modify or delete; None: only a password to set) and the Password Modify
    #: request that sets its password after it, if any: (message id, encoded), made by ``prepare``
    first: Request | None = None
    set_password: Request | None = None


class _WritesRefused(Exception):
    """The directory answered a write with a refusal of the connection itself, not of the entry (the message
    says why and what to change)."""


def _refused(item: _Item, result: wire.Result) -> str:
    """Why the directory refused a change's first request."""
    if result.code == wire.ENTRY_ALREADY_EXISTS and item.outcome.change.action == "create":
        # two operators applying at once, or an entry the bind DN may not read: a bare code left both unsaid
        return (f"{result.describe()}: the plan did not see this entry: created since by another apply or tool "
                "(the next apply plans against it), or hidden from the bind DN by the directory's access rules")
    return result.describe()


def _what(item: _Item) -> str:
    return "created" if item.outcome.change.action == "create" else "updated"


def _batches(outcomes: list[Outcome], size: int) -> Iterator[list[Outcome]]:
    """Batches that never mix phases, so parents always exist before children."""
    batch: list[Outcome] = []
    for outcome in outcomes:
        if batch and (len(batch) >= size or batch[-1].change.phase != outcome.change.phase):
            yield batch
            batch = []
        batch.append(outcome)
    if batch:
        yield batch


def apply_plan(plan: Plan, pipelines: Sequence[wire.Pipeline], writer: MailboxLetterWriter, agencies: Sequence[Agency],
               profile: Profile, scheme: str = "server", password_length: int = 16, batch_size: int = BATCH_SIZE,
               progress: Callable[[int], None] | None = None, base_dn: str | None = None) -> ApplyReport:
    """Carry out ``plan`` over ``pipelines`` (bound connections, taken in turn by the batches); one
    failed change does not stop the others.

    A lost connection or Ctrl-C stops the run: what the directory did with
    the batches in flight is UNKNOWN (at most two, and the Password Modify
    requests of the one before them), the rest is SKIPPED, and a re-run (a
    new plan) finishes the work. The letters of passwords never
    sent are removed: only letters that may be handed out stay.

    With ``scheme="server-add"`` a run that creates mailboxes first checks,
    under ``base_dn``, that the directory hashes a password an add carries
    (``serverhash``), and raises ``ServerHashError`` before any change if not.
    """
    if scheme == "server-add" and any(c.action == "create" and c.set_password for c in plan.changes):
        if not base_dn:
            raise ValueError("password_scheme server-add: apply_plan needs the base_dn to check the directory under")
        from .serverhash import check_server_hashes

        check_server_hashes(pipelines[0], base_dn, generate(password_length))
    outcomes = [Outcome(change) for change in plan.changes]
    report = ApplyReport(outcomes, held_back=list(plan.held_back))
    run = _Run(writer, {a.id: a for a in agencies}, profile, scheme, password_length, progress)
    batches = list(_batches(outcomes, batch_size))
    # Two batches in flight: batch N+1 is sent before N's answers are read, so the directory
    # works on it while N's answers are handled and N+2's passwords and letters are made. N's
    # Password Modify answers are read after N+2 has gone out: read at once, the directory
    # had nothing queued from their last answer until N+2 came (10,000 mailboxes, 20 rounds
    # alternated: median 1.66 s against 1.75 s).
    # Never across a phase: a phase's entries are the parents of the next one's (a batch's
    # answers are in before the next phase starts, whichever connection it goes over). Two
    # batches of 250 stay under slapd's conn_max_pending_auth (1000 by default): past it, slapd
    # closes the connection (seen with batches of 2,000). With two connections the two batches
    # in flight go over different ones: slapd runs at most threads/2 requests of one connection
    # at once and defers the rest.
    def prepare(index: int) -> _Batch:
        return run.prepare(batches[index], pipelines[index % len(pipelines)])

    upcoming: _Batch | None = None
    in_flight: _Batch | None = None
    #: a finished batch whose Password Modify answers are still to be read
    unanswered: _Batch | None = None

    def finish(batch: _Batch) -> None:
        """``batch``'s first answers, then the answers of the one before it, whose passwords went out a batch
        earlier: by then they are in, and the directory has this batch's to work on."""
        nonlocal unanswered
        run.finish(batch)
        if unanswered is not None:
            run.complete(unanswered)
        unanswered = batch

    def drain() -> None:
        nonlocal in_flight, unanswered
        if in_flight is not None:
            finish(in_flight)
            in_flight = None
        if unanswered is not None:
            run.complete(unanswered)
            unanswered = None

    try:
        upcoming = prepare(0) if batches else None
        for index in range(len(batches)):
            assert upcoming is not None
            current = upcoming
            if in_flight is not None and in_flight.phase != current.phase:
                drain()
            run.start(current)
            previous, in_flight = in_flight, current
            upcoming = prepare(index + 1) if index + 1 < len(batches) else None
            if previous is not None:
                finish(previous)
        drain()
    except wire.WireError as exc:
        report.stopped = f"directory connection lost: {exc}"
    except _WritesRefused as exc:  # the rest would be refused the same way, one by one
        report.stopped = str(exc)
    except LetterError as exc:  # nothing of its batch got a password; the next plan finds them without one
        report.stopped = str(exc)
    except KeyboardInterrupt as exc:
        report.stopped = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        report.interrupted = exc
    finally:
        # Every batch made but not started is abandoned, 'upcoming' or not: a Ctrl-C inside prepare, between
        # submitting its two letter tasks, left one writing a batch nobody held (seen: 125 letters whose passwords
        # were never set, not in the report). Halted, its tasks stop at their next letter; the pool is waited
        # for before the letters are removed, so none appears after its removal.
        unsent = [batch for batch in run.made if not batch.started]
        for batch in unsent:
            batch.halted = True
        for batch in run.made:
            if batch.started and not batch.finished:  # only when the run stopped
                run.settle(batch)
        run.pool.shutdown(wait=True)
        for batch in unsent:
            run.abandon(batch)
        writer.tidy()
    return report
