"""Whether a reply marked 'streaming' is really being written, by this app or another one.

The writer saves the reply at least once a second while tokens come, and touches its checkpoint
every few seconds while the model reads a long prompt (chat/reply.py). A reply is alive while its
checkpoint is fresh and, on this machine, its writer's process still runs: a kill -9 leaves the
mark 'streaming' behind, and readers see that reply as interrupted at once (its process is gone)
or, at the latest, LIVE_SECONDS after its last checkpoint.
"""

from __future__ import annotations

import os
import time

from mixtral_tui.vocabulary import Status

HEARTBEAT_SECONDS = 5.0
"""How often a reply being written touches its checkpoint when no token has saved it."""

LIVE_SECONDS = 30.0
"""A checkpoint older than this is a writer's last: several heartbeats, with room for a busy disk
or another instance's write holding the database."""


def process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    except OSError:
        return False
    return True


def is_alive(checkpoint_at: float | None, writer_pid: int | None, now: float | None = None) -> bool:
    if checkpoint_at is None:  # written by a version before checkpoints were stored
        return False
    if (now if now is not None else time.time()) - checkpoint_at > LIVE_SECONDS:
        return False
    return writer_pid is None or process_runs(writer_pid)


def status_as_read(status: str, checkpoint_at: float | None, writer_pid: int | None) -> str:
    """The status a reader should see: 'streaming' only for a reply still being written (every
    other one as stored: this runs for each message read, thousands for a long chat)."""
    if status == Status.STREAMING and not is_alive(checkpoint_at, writer_pid):
        return Status.INTERRUPTED
    return status
