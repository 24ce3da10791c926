"""Puts that wait for the disk (or a slave), appended and waited for together.

A put that is answered only after its fsync loses nothing by reaching the file a moment
later, so the waiting puts of one loop iteration go to the engine as one batch: one
crossing into Rust, one lock and one write for all of them instead of one of each per
message. The group then waits once (one flush request, one waiter) and answers each put.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

M = TypeVar("M")
R = TypeVar("R")

#: Messages after which a group is appended at once instead of at the end of the loop
#: iteration, so its fsync runs while the loop gathers the next group. With 64 SYNC_FLUSH
#: writers, alternating runs gave 131k/152k msg/s at 32, 127k/136k at 16 and 125k/124k at
#: 8; later ones 111k/106k at 32 and 86k/87k at 64 (one group per iteration for 64 writers:
#: the loop idled through every fsync).
GROUP = 32


class PutGroup(Generic[M, R]):
    """Gathers messages from many puts and appends them in submission order with
    ``append``, which returns one result per message; ``settle`` then waits for what the
    results promise and returns them as answered. ``written`` tells whether a failed append
    wrote anything: one that wrote nothing is retried put by put, so a malformed message
    fails only the put it came in."""

    def __init__(
        self,
        append: Callable[[list[M]], list[R]],
        settle: Callable[[list[R]], Awaitable[list[R]]],
        written: Callable[[], int],
        group: int = GROUP,
    ) -> None:
        self._append = append
        self._settle = settle
        self._written = written
        # The loop keeps only weak references to tasks.
        self._settling: set[asyncio.Task[None]] = set()
        self._group = group
        self._messages: list[M] = []
        self._puts: list[tuple[int, int, asyncio.Future[list[R]]]] = []
        #: True while puts are gathered and not yet appended (an attribute, not a property:
        #: every put that does not wait checks it).
        self.pending = False
        self._scheduled = False

    def put(self, messages: Sequence[M]) -> "asyncio.Future[list[R]]":
        """A future of the results of ``messages``, set once their group is appended."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[R]] = loop.create_future()
        start = len(self._messages)
        self._messages.extend(messages)
        self._puts.append((start, len(self._messages), future))
        self.pending = True
        if len(self._messages) >= self._group:
            self.append_now()
        elif not self._scheduled:
            # Runs after every task already ready in this iteration has had its turn.
            self._scheduled = True
            loop.call_soon(self._append_scheduled)
        return future

    def _append_scheduled(self) -> None:
        self._scheduled = False
        self.append_now()

    def append_now(self) -> None:
        """Append what is gathered (a put that does not wait calls this first, so the
        file keeps the order in which puts were made)."""
        if not self._puts:
            return
        messages, puts = self._messages, self._puts
        self._messages, self._puts = [], []
        self.pending = False
        before = self._written()
        try:
            results = self._append(messages)
        except Exception as exc:
            if len(puts) > 1 and self._written() == before:
                for start, end, future in puts:
                    self._append_one(messages[start:end], future)
            else:
                for _, _, future in puts:
                    if not future.done():
                        future.set_exception(exc)
            return
        self._answer_when_settled(results, puts)

    def _append_one(self, messages: list[M], future: "asyncio.Future[list[R]]") -> None:
        try:
            results = self._append(messages)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        self._answer_when_settled(results, [(0, len(results), future)])

    def _answer_when_settled(
        self, results: list[R], puts: list[tuple[int, int, "asyncio.Future[list[R]]"]]
    ) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(results, puts))
        self._settling.add(task)

        def finished(task: "asyncio.Task[None]") -> None:
            self._settling.discard(task)
            # Cancelled (perhaps before it started, so _answer never ran) or ended by an
            # exception _answer does not catch: its puts are cancelled with it. Otherwise
            # _answer has answered every one of them.
            if task.cancelled() or task.exception() is not None:
                for _, _, future in puts:
                    future.cancel()

        task.add_done_callback(finished)

    def cancel(self) -> None:
        """Append what is gathered, then cancel the puts still waiting (the store closes)."""
        self.append_now()
        for task in self._settling:
            task.cancel()

    async def _answer(
        self, results: list[R], puts: list[tuple[int, int, "asyncio.Future[list[R]]"]]
    ) -> None:
        try:
            settled = await self._settle(results)
        except Exception as exc:
            for _, _, future in puts:
                if not future.done():
                    future.set_exception(exc)
            return
        for start, end, future in puts:
            if not future.done():
                future.set_result(settled[start:end])
