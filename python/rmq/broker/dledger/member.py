"""One broker's membership in its DLedger group: drives the Raft core (``rmq._store.RaftNode``),
keeps the commitlog equal to the committed Raft log, and tells the broker when it becomes
(or stops being) the writable leader.

How entries map to the commitlog: every commitlog write on the leader is proposed as one
entry holding its start offset and its bytes (``>Q`` offset, then the records). Applying a
committed entry appends those bytes at exactly that offset, so every member's commitlog is
byte-for-byte the committed log. The leader wrote them already and only advances; a
follower appends them. Consumers read only what was applied (the store's dispatch limit),
so a pull never returns a message that a new leader could later replace.

An uncommitted suffix exists only on a leader. When it stops being leader it cuts its
commitlog back to the end of the last applied entry; the Raft log still holds the entries,
and if the group commits them they come back through apply. ``applied`` (index and
commitlog end) is recorded after each apply so a restart cuts the commitlog back the same
way and lets Raft replay only what follows."""

import asyncio
import contextlib
import logging
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Final

from rmq._store import RaftNode, StoreError
from rmq.broker.dledger.transport import PeerLinks
from rmq.config.dledger import DLedgerSettings
from rmq.store.offset_waiters import OffsetWaiters
from rmq.store.results import PutStatus
from rmq.store.store import MessageStore

log = logging.getLogger(__name__)

#: The Raft clock: a follower hears a heartbeat every 2 ticks and campaigns after 10-20
#: ticks of silence, so a dead leader is replaced in about 1-2 s (Java DLedger's defaults,
#: a 2 s heartbeat and 3 missed beats, take 6 s or more).
TICK_SECONDS: Final = 0.1
HEARTBEAT_TICKS: Final = 2
ELECTION_TICKS: Final = 10
#: How often a leader that is not the preferred one offers to hand over.
PREFER_SECONDS: Final = 5.0

_START: Final = struct.Struct(">Q")
_APPLIED: Final = struct.Struct(">QQI")
ROLE_NAMES: Final = ("FOLLOWER", "CANDIDATE", "LEADER")
LEADER: Final = 2


def raft_id(peer_id: str) -> int:
    """Java's numbering (``DLedgerCommitLog``): ``n0`` is 1, ``n1`` is 2 (also the brokerId
    the member takes as a slave)."""
    return int(peer_id[1:]) + 1


class DLedgerMember:
    #: What a put gets when this member cannot take it or the group does not commit it in
    #: time (Java: NOT_LEADER -> SERVICE_NOT_AVAILABLE, WAIT_QUORUM_ACK_TIMEOUT ->
    #: OS_PAGECACHE_BUSY).
    not_available: Final = PutStatus.SERVICE_NOT_AVAILABLE
    timed_out: Final = PutStatus.OS_PAGECACHE_BUSY

    def __init__(
        self,
        settings: DLedgerSettings,
        store: MessageStore,
        root: Path,
        *,
        sync: bool = False,
        preferred: str | None = None,
    ) -> None:
        self.settings = settings
        self.id = raft_id(settings.self_id)
        self._store = store
        self._dir = root / f"dledger-{settings.self_id}"
        self._sync = sync
        self._preferred = raft_id(preferred) if preferred and preferred != settings.self_id \
            else None  # fmt: skip
        peers = {
            raft_id(p.id): (p.host, p.port) for p in settings.peers if p.id != settings.self_id
        }
        me = settings.me
        self._links = PeerLinks((me.host, me.port), peers, self._received)
        self._node: RaftNode | None = None
        self._applied_fd = -1
        self.applied_index = 0
        self.applied_end = 0
        self.writable = False
        self.leader_id = 0
        self.term = 0
        self.role = 0
        self._waiters = OffsetWaiters()
        self._pending: tuple[int, int] | None = None
        self._kicked = False
        self._tasks: list[asyncio.Task[None]] = []
        #: Called with True when this member becomes the writable leader, False when it stops.
        self.on_leadership: Callable[[bool], None] | None = None
        self.failed: BaseException | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        store = self._store
        written = store.commitlog_offsets()[1]
        record = self._read_applied()
        if record is None:
            # A new member (nothing applied yet): whatever the commitlog holds is its base.
            index, self.applied_end = 0, written
        else:
            index, end = record
            if written > end:
                # Bytes past the last applied entry were either never committed or come
                # back from the Raft log.
                store.truncate_commitlog(end)
                written = end
            elif written < end:
                # The commitlog lost a tail it had applied (a crash before the flush):
                # replay the whole Raft log; entries already present are skipped.
                index = 0
            self.applied_end = written
        self.applied_index = index
        # Only a writable leader holds unapplied bytes, and only it limits dispatch.
        store.set_dispatch_limit(None)
        voters = sorted(raft_id(p.id) for p in self.settings.peers)
        self._node = RaftNode(
            str(self._dir), id=self.id, voters=voters, election_tick=ELECTION_TICKS,
            heartbeat_tick=HEARTBEAT_TICKS, applied=index, sync=self._sync,
        )  # fmt: skip
        self._applied_fd = os.open(self._dir / "applied", os.O_RDWR | os.O_CREAT, 0o644)
        await self._links.start()
        self._tasks.append(asyncio.create_task(self._clock(), name="dledger-clock"))
        if self._preferred is not None or len(voters) > 1:
            self._tasks.append(asyncio.create_task(self._prefer(), name="dledger-prefer"))
        self._drive()
        log.info("dledger member %s (raft id %d) of group %s started, applied index %d end %d",
                 self.settings.self_id, self.id, self.settings.group, index,
                 self.applied_end)  # fmt: skip

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self._links.stop()
        self._waiters.fail_all()
        if self._node is not None:
            with contextlib.suppress(StoreError):
                self._node.close()
        if self._applied_fd >= 0:
            os.close(self._applied_fd)
            self._applied_fd = -1

    def compact(self) -> int:
        """After a retention pass: drop Raft log segments whose commitlog bytes are gone."""
        node = self._node
        if node is None or self.failed is not None:
            return 0
        removed = node.compact(self._store.commitlog_offsets()[0])
        if removed:
            log.info("dledger: removed %d Raft log segment(s) below the commitlog", removed)
        return removed

    # -- what the store calls (ReplicaGate and the leader's write hook) -------------------

    def slave_ok(self, master_put_where: int) -> bool:
        return self.writable

    async def wait_acked(self, offset: int, timeout: float) -> bool:
        if self.applied_end >= offset:
            return True
        if not self.writable:
            return False
        return await self._waiters.wait(offset, timeout)

    def appended(self, start: int, end: int) -> None:
        """The leader wrote commitlog bytes ``[start, end)``; they are proposed together with
        whatever else is written before the loop comes round."""
        pending = self._pending
        self._pending = (start if pending is None else pending[0], end)
        self._kick()

    # -- the Raft loop --------------------------------------------------------------------

    def _received(self, message: bytes) -> None:
        node = self._node
        if node is None:
            return
        try:
            node.step(message)
        except StoreError as exc:
            log.warning("dledger: ignoring a peer message: %s", exc)
            return
        self._kick()

    async def _clock(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if self._node is not None:
                self._node.tick()
                self._drive()

    async def _prefer(self) -> None:
        while True:
            await asyncio.sleep(PREFER_SECONDS)
            node = self._node
            if node is not None and self._preferred is not None and self.role == LEADER:
                node.transfer_leader(self._preferred)
                self._kick()

    def _kick(self) -> None:
        if not self._kicked:
            self._kicked = True
            asyncio.get_running_loop().call_soon(self._drive)

    def _drive(self) -> None:
        self._kicked = False
        node = self._node
        if node is None or self.failed is not None:
            return
        try:
            self._propose_pending(node)
            messages, committed, highest = node.ready()
            for to, message in messages:
                self._links.send(to, message)
            self.leader_id, term, self.role, _commit, last = node.status()
            if self.writable and (self.role != LEADER or term != self.term):
                # Deposed (a peer's message moved the term): the commitlog past the applied
                # end holds this member's own uncommitted writes, which the entries now
                # committed may replace. Cut them before applying anything.
                self._step_down()
            self.term = term
            if committed or highest > self.applied_index:
                self._apply(committed, highest)
            self._follow_role(last)
        except (StoreError, OSError) as exc:
            # A member that cannot write its log or commitlog must not go on voting.
            self.failed = exc
            log.error("dledger member stopped: %s", exc)
            self._step_down()
            for task in self._tasks:
                task.cancel()

    def _propose_pending(self, node: RaftNode) -> None:
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        start, end = pending
        data = bytearray(_START.pack(start))
        pos = start
        while pos < end:
            chunk = self._store.read_commitlog(pos, end - pos)
            if not chunk:
                break
            data += chunk
            pos += len(chunk)
        if pos != end or not node.propose(bytes(data)):
            self._step_down()

    def _apply(self, committed: list[tuple[int, bytes]], highest: int) -> None:
        store = self._store
        for index, data in committed:
            (start,) = _START.unpack_from(data)
            body = memoryview(data)[_START.size :]
            end = start + len(body)
            written = store.commitlog_offsets()[1]
            if end > written:
                if start < written:
                    store.truncate_commitlog(start)
                store.append_replicated(start, bytes(body))
            self.applied_end = end
            self.applied_index = index
        self.applied_index = max(self.applied_index, highest)
        os.pwrite(self._applied_fd, self._applied_record(), 0)
        if self.writable:
            store.set_dispatch_limit(self.applied_end)
        self._waiters.release(self.applied_end)

    def _follow_role(self, last: int) -> None:
        if self.role == LEADER:
            if not self.writable and self.applied_index >= last:
                # Everything in the log, including this term's first entry, is applied: the
                # commitlog ends where new writes must start, and from now on what this
                # member writes is readable only once the group committed it.
                self._store.set_dispatch_limit(self.applied_end)
                self.writable = True
                log.info("dledger: %s is the leader of %s in term %d", self.settings.self_id,
                         self.settings.group, self.term)  # fmt: skip
                if self.on_leadership is not None:
                    self.on_leadership(True)
        elif self.writable:
            self._step_down()

    def _step_down(self) -> None:
        was = self.writable
        self.writable = False
        self._pending = None
        self._waiters.fail_all()
        written = self._store.commitlog_offsets()[1]
        if written > self.applied_end:
            self._store.truncate_commitlog(self.applied_end)
        # A follower's commitlog holds only applied entries; each append dispatches (and
        # recounts queue offsets) in full, which a later leadership relies on.
        self._store.set_dispatch_limit(None)
        if was:
            log.info("dledger: %s is no longer the leader (term %d)", self.settings.self_id,
                     self.term)  # fmt: skip
            if self.on_leadership is not None:
                self.on_leadership(False)

    # -- applied record -------------------------------------------------------------------

    def _applied_record(self) -> bytes:
        head = struct.pack(">QQ", self.applied_index, self.applied_end)
        return head + struct.pack(">I", zlib.crc32(head))

    def _read_applied(self) -> tuple[int, int] | None:
        try:
            raw = (self._dir / "applied").read_bytes()
        except FileNotFoundError:
            return None
        if len(raw) != _APPLIED.size:
            return None
        index, end, crc = _APPLIED.unpack(raw)
        if zlib.crc32(raw[:16]) != crc:
            return None
        return index, end
