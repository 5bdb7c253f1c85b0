"""Every file location the app uses, in one place.

`MIXTRAL_TUI_HOME` moves all of them under one folder (handy for tests,
portable installs and several profiles); otherwise platformdirs decides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "mixtral-tui"
HOME_ENV = "MIXTRAL_TUI_HOME"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def database(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def llama_log(self) -> Path:
        return self.log_dir / "llama.log"

    def ensure(self) -> None:
        for folder in (self.config_dir, self.data_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)


def recent_models_file(paths: AppPaths) -> Path:
    """The app's own list of models loaded lately (models/recent.py), beside the history."""
    return paths.data_dir / "recent_models.json"


def app_paths() -> AppPaths:
    """Resolve the locations now (the environment may change between calls in tests)."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return AppPaths(root / "config", root / "data", root / "logs")
    import platformdirs

    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return AppPaths(Path(dirs.user_config_dir), Path(dirs.user_data_dir), Path(dirs.user_log_dir))
