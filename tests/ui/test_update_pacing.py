"""Screen updates while a reply streams: coalesced, and spaced out while the UI eats the model's CPU."""

import time

from mixtral_tui.engine.base import Chunk
from mixtral_tui.ui.messages import ChunkMailbox, UpdatePacer


def burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_pacer_spaces_updates_while_the_ui_is_busy_and_closes_up_when_it_is_idle():
    pacer = UpdatePacer()
    pacer.tick()
    for _ in range(15):
        burn(0.01)  # the UI thread busy all the time
        pacer.tick()
    assert pacer.interval == UpdatePacer.SLOWEST
    for _ in range(30):
        time.sleep(0.01)  # the UI thread idle
        pacer.tick()
    assert pacer.interval == UpdatePacer.FASTEST


def ui_at(share: float, pacer: UpdatePacer, updates: int = 25) -> None:
    """A UI thread that works `share` of the time between updates 20 ms apart."""
    pacer.tick()
    for _ in range(updates):
        burn(0.02 * share)
        time.sleep(0.02 * (1 - share))
        pacer.tick()


def test_where_the_model_takes_every_core_the_ui_gets_a_smaller_budget():
    spare, busy = UpdatePacer(), UpdatePacer()
    spare.share_cores_with(model_threads=4, cores=8)
    busy.share_cores_with(model_threads=2, cores=2)
    assert spare.ui_share == UpdatePacer.UI_SHARE and busy.ui_share == UpdatePacer.BUSY_SHARE < spare.ui_share
    ui_at(0.05, spare)
    ui_at(0.05, busy)  # the same work: within the budget with a core to spare, over it on a busy machine
    assert spare.interval <= UpdatePacer.START < busy.interval == UpdatePacer.SLOWEST


def test_mailbox_announces_once_per_interval_and_hands_over_everything():
    pacer = UpdatePacer()
    pacer.interval = 0.05
    mailbox = ChunkMailbox(pacer)
    announced = [mailbox.put(Chunk(f"t{i} ", i + 1, 0.0)) for i in range(5)]
    assert announced == [True, False, False, False, False]  # one ReplyChunk in flight at most
    text, latest = mailbox.take()
    assert text == "t0 t1 t2 t3 t4 " and latest.completion_tokens == 5
    assert mailbox.put(Chunk("soon ", 6, 0.0)) is False  # within the interval of the last update
    time.sleep(0.06)
    assert mailbox.put(Chunk("later ", 7, 0.0)) is True
    assert mailbox.take()[0] == "soon later "


def test_the_first_words_are_announced_at_once_even_after_a_chunk_without_text():
    pacer = UpdatePacer()
    pacer.interval = 10.0  # no update would be due for a long time
    mailbox = ChunkMailbox(pacer)
    assert mailbox.put(Chunk("", 1, 0.0)) is True  # a server's first token may decode to nothing yet
    assert mailbox.take()[0] == ""
    assert mailbox.put(Chunk("Hello", 2, 0.0)) is True  # the first words: not held for the interval
    assert mailbox.take()[0] == "Hello"
    assert mailbox.put(Chunk(" there", 3, 0.0)) is False  # from then on, at the pacer's pace


def test_each_reply_starts_at_the_pace_the_last_one_found():
    pacer = UpdatePacer()
    pacer.interval = 0.2
    ChunkMailbox(pacer)
    assert pacer.interval == 0.2
