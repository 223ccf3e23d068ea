"""Random (version 4) UUIDs without a system call for each one.

``uuid.uuid4()`` asks the kernel for 16 random bytes every time; on a busy worker the thread
then waits to get the interpreter lock back. Here each thread draws its bytes from the same
source (``os.urandom``), 4 KiB at a time.
"""

from __future__ import annotations

import os
import threading
from uuid import UUID

_CHUNK = 4096
_local = threading.local()


def random_uuid() -> UUID:
    buffer: bytes = getattr(_local, "buffer", b"")
    if not buffer:
        buffer = os.urandom(_CHUNK)
    _local.buffer = buffer[16:]
    return UUID(bytes=buffer[:16], version=4)


os.register_at_fork(after_in_child=lambda: _local.__dict__.clear())
