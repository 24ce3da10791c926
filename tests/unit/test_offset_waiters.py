"""OffsetWaiters: what a SYNC_FLUSH or SYNC_MASTER put sees while it waits for an offset."""

import asyncio

import pytest

from rmq.store.offset_waiters import OffsetWaiters


async def test_release_answers_the_waiters_it_reached_and_only_those() -> None:
    waiters = OffsetWaiters()
    low = asyncio.create_task(waiters.wait(100, 5))
    high = asyncio.create_task(waiters.wait(200, 5))
    await asyncio.sleep(0)
    waiters.release(150)
    assert await low is True
    assert not high.done()
    waiters.release(200)
    assert await high is True


async def test_a_waiter_not_reached_in_time_gets_false_and_a_later_release_is_harmless() -> None:
    waiters = OffsetWaiters()
    assert await waiters.wait(10, 0.02) is False
    waiters.release(10)


async def test_timeouts_of_different_lengths_each_fire_at_their_own_time() -> None:
    waiters = OffsetWaiters()
    loop = asyncio.get_running_loop()
    start = loop.time()
    long = asyncio.create_task(waiters.wait(10, 0.5))
    await asyncio.sleep(0)
    # A shorter deadline registered later must not wait for the longer one.
    assert await waiters.wait(20, 0.02) is False
    assert loop.time() - start < 0.4
    assert not long.done()
    waiters.release(10)
    assert await long is True


async def test_fail_all_answers_false_and_cancel_all_cancels() -> None:
    waiters = OffsetWaiters()
    failed = asyncio.create_task(waiters.wait(10, 5))
    await asyncio.sleep(0)
    waiters.fail_all()
    assert await failed is False
    cancelled = asyncio.create_task(waiters.wait(10, 5))
    await asyncio.sleep(0)
    waiters.cancel_all()
    with pytest.raises(asyncio.CancelledError):
        await cancelled


async def test_registered_runs_once_the_waiter_is_queued() -> None:
    waiters = OffsetWaiters()
    nudged: list[bool] = []
    task = asyncio.create_task(waiters.wait(5, 5, lambda: nudged.append(True)))
    await asyncio.sleep(0)
    assert nudged == [True]
    waiters.release(5)
    assert await task is True


async def test_many_answered_waiters_leave_no_deadlines_behind() -> None:
    waiters = OffsetWaiters()
    for offset in range(1, 1001):
        task = asyncio.create_task(waiters.wait(offset, 5))
        await asyncio.sleep(0)
        waiters.release(offset)
        assert await task is True
    assert not waiters._deadlines
