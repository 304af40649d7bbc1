"""Open a page in headless Chromium (Debian's package) and read back what its console printed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.system_packages import require

# The flags a closed network needs (no background connections, no first-run UI); a fresh profile per page.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]
CONSOLE = re.compile(r":CONSOLE:?\(?\d*\)?\] (.*)")


def render(page: Path, screenshot: Path, profile_dir: Path, size: str = "1400,2400") -> list[str]:
    """Load ``page``, save a screenshot, and return every console message (errors, warnings, logs)."""
    chromium = require("chromium", ["chromium"])
    done = subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile_dir}",
            f"--screenshot={screenshot}",
            f"--window-size={size}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [m.group(1) for line in done.stderr.splitlines() if (m := CONSOLE.search(line))]
