"""The download panel: a live bar with bytes, percent, speed and ETA; Esc stops (and keeps what came)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, ProgressBar, Static

from mixtral_tui.cancel import CancelToken
from mixtral_tui.errors import UserError
from mixtral_tui.models.hardware import GIB, MIB, gib
from mixtral_tui.models.hub import QuantChoice

if TYPE_CHECKING:
    from mixtral_tui.models.download import Progress


def describe(progress: Progress) -> str:
    if progress.verifying:
        return f"{gib(progress.done, 2)} · checking the sha256 the Hub publishes…"
    eta = progress.eta
    eta_text = f"{int(eta // 60)}:{int(eta % 60):02d} left" if eta is not None else "--:-- left"
    resumed = f" · resumed at {gib(progress.resumed_from, 2)}" if progress.resumed_from else ""
    return (f"{progress.done / GIB:.2f} / {gib(progress.total, 2)} · {progress.fraction * 100:.1f}% · "
            f"{progress.speed / MIB:.1f} MiB/s · {eta_text}{resumed}")


class DownloadScreen(ModalScreen[Path | None]):
    """Downloads one quantization in a worker; dismisses with the local path, or None."""

    BINDINGS = [Binding("escape", "stop", "Stop"), Binding("enter", "retry", "Retry", show=False)]
    DEFAULT_CSS = """
    DownloadScreen { align: center middle; }
    DownloadScreen > Vertical { width: 90; height: auto; border: round $primary; background: $surface; padding: 1 2; }
    DownloadScreen ProgressBar { margin: 1 0; }
    DownloadScreen Bar { width: 1fr; }
    DownloadScreen #error { color: $text-error; }
    DownloadScreen .hint { color: $text-muted; }
    """

    class Update(Message):
        """Progress is waiting (at most one of these is in flight)."""

    class Done(Message):
        def __init__(self, path: Path | None, error: str | None) -> None:
            super().__init__()
            self.path = path
            self.error = error

    def __init__(self, repo: str, choice: QuantChoice, models_dir: str = "") -> None:
        super().__init__()
        self.repo = repo
        self.models_dir = models_dir  # downloads go there when set, else to the Hub cache
        self.choice = choice
        self.cancel = CancelToken()
        self.latest: Progress | None = None
        self._pending = threading.Event()
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical():
            parts = f", {len(self.choice.files)} parts" if len(self.choice.files) > 1 else ""
            yield Label(Content(f"Downloading {self.repo} {self.choice.quant} ({gib(self.choice.size, 2)}{parts})"))
            yield ProgressBar(total=self.choice.size, show_eta=False, id="bar")
            yield Static("starting…", id="figures")
            yield Static("", id="error")
            yield Static("Esc stops; what has arrived is kept and the next try resumes from there.", classes="hint")

    def on_mount(self) -> None:
        self.start()

    def start(self) -> None:
        self.cancel = CancelToken()
        self.running = True
        self.query_one("#error", Static).update("")
        self._run()

    @work(thread=True, exclusive=True, group="download", exit_on_error=False)
    def _run(self) -> None:
        from mixtral_tui.models.download import download, download_root

        def progress(p: Progress) -> None:
            self.latest = p
            if not self._pending.is_set():
                self._pending.set()
                self.post_message(self.Update())

        try:
            path = download(self.repo, self.choice, progress=progress, cancel=self.cancel,
                            cache=download_root(self.models_dir))
        except UserError as exc:
            self.post_message(self.Done(None, str(exc)))
        except Exception as exc:  # a surprise must not take the TUI down
            self.post_message(self.Done(None, f"the download failed: {exc}"))
        else:
            self.post_message(self.Done(path, None))

    def on_download_screen_update(self, event: Update) -> None:
        self._pending.clear()
        progress = self.latest
        if progress is not None:
            self.query_one("#bar", ProgressBar).update(progress=progress.done)
            self.query_one("#figures", Static).update(describe(progress))

    def on_download_screen_done(self, event: Done) -> None:
        self.running = False
        if event.path is not None:
            self.dismiss(event.path)
            return
        self.query_one("#error", Static).update(Content(event.error or ""))
        self.query_one(".hint", Static).update("Enter tries again (resuming), Esc closes.")

    def action_stop(self) -> None:
        if self.running:
            self.cancel.cancel()
        else:
            self.dismiss(None)

    def action_retry(self) -> None:
        if not self.running:
            self.start()
