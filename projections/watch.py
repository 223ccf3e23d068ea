"""Read-your-writes: let a request wait, without sleeping blindly, until the views reach a
position.

One watcher per process keeps the latest position the projector has committed. On PostgreSQL
the projector announces each position with NOTIFY and the watcher listens; a slow poll covers a
lost notification or a broken listener. On SQLite there is no push, so the watcher polls, fast,
and only while somebody is waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger("incident_tracker.watch")


class PositionWatch:
    def __init__(
        self,
        read_position: Callable[[], Awaitable[int]],
        listen: Callable[[], AsyncIterator[int]] | None,
        poll_interval: float,
    ) -> None:
        self.position = 0
        self._read_position = read_position
        self._listen = listen
        self._poll_interval = poll_interval
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._tie = itertools.count()
        self._someone_waits = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            self.advance(await self._read_position())
        self._tasks.append(asyncio.create_task(self._poll()))
        if self._listen is not None:
            self._tasks.append(asyncio.create_task(self._follow()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def advance(self, position: int) -> None:
        if position <= self.position:
            return
        self.position = position
        while self._waiters and self._waiters[0][0] <= position:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)

    async def wait_for(self, position: int | None, timeout: float) -> bool:
        """True once the views have reached ``position``; False if ``timeout`` passed first."""
        if position is None or position <= self.position:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (position, next(self._tie), future))
        self._someone_waits.set()
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        return True

    async def _poll(self) -> None:
        while True:
            if not self._waiters:
                self._someone_waits.clear()
                await self._someone_waits.wait()
            await asyncio.sleep(self._poll_interval)
            self._drop_abandoned()
            try:
                self.advance(await self._read_position())
            except Exception as error:  # the database may be down; waiters time out meanwhile
                log.debug("position poll failed: %s", error)
                await asyncio.sleep(min(1.0, self._poll_interval * 10))

    def _drop_abandoned(self) -> None:
        if any(f.done() for _, _, f in self._waiters):
            self._waiters = [w for w in self._waiters if not w[2].done()]
            heapq.heapify(self._waiters)

    async def _follow(self) -> None:
        """Listen for positions; after a broken connection, reconnect every second (logging
        once per outage, not once per attempt) while the poll covers any waiters."""
        assert self._listen is not None
        lost = False
        while True:
            try:
                async for position in self._listen():
                    if lost:
                        log.info("following the projector's notifications again")
                        lost = False
                    self.advance(position)
            except Exception as error:
                if not lost:
                    log.warning("lost the projector's notifications (%s); polling meanwhile",
                                error)
                lost = True
            await asyncio.sleep(1.0)
