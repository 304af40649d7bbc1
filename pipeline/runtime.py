"""What every Snakemake script adapter needs: its log file, its thread count, and readable progress.

A job's log gets whole lines only, each flushed when written, so it reads the same in a terminal, a log file and
a SLURM output file (``tail -f`` shows a job as it runs; carriage-return progress bars do not survive a file):

- the first line (rule, threads, outputs) is written the moment the job starts;
- :func:`progress` wraps a loop in a tqdm bar whose refreshes become lines "what: done/total [elapsed<left,
  rate]";
- a heartbeat thread makes sure some line comes at least every ``PROGRESS_S`` seconds (30 unless the
  environment variable says otherwise): it refreshes the innermost open bar, so a step slower than the interval
  still shows its elapsed time and estimate, or, outside any bar, says how long the job has run.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm import tqdm

INTERVAL_VARIABLE = "UBN_PROGRESS_S"
BAR_FORMAT = "{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]"


def interval() -> float:
    """Seconds between progress lines (environment ``UBN_PROGRESS_S``, default 30)."""
    return float(os.environ.get(INTERVAL_VARIABLE, "30"))


class LineWriter:
    """A text stream that writes whole lines, each flushed at once: tqdm's carriage-return refreshes become one
    line each (one repeating the line before is dropped), and a partial line waits for its end (or a flush).
    ``last`` is when a line was last written (the heartbeat reads it)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.pending = ""
        self.previous = ""
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def _emit(self, lines: list[str]) -> None:
        lines = [line.rstrip() for line in lines if line.strip()]
        while lines and lines[0] == self.previous:  # a bar closing repeats its last refresh
            lines = lines[1:]
        if lines:
            self.previous = lines[-1]
            self.stream.write("".join(line + "\n" for line in lines))
            self.stream.flush()
            self.last = time.monotonic()

    def write(self, text: str) -> int:
        with self.lock:
            *done, self.pending = (self.pending + text).replace("\r", "\n").split("\n")
            self._emit(done)
        return len(text)

    def flush(self) -> None:
        with self.lock:
            self._emit([self.pending])
            self.pending = ""


_open_bars: list[tqdm] = []


def progress(items: Iterable, total: int, what: str, initial: int = 0) -> Iterator:
    """Yield ``items`` (``total`` of them, ``initial`` already done elsewhere, e.g. before a resume) while
    printing "what: done/total [elapsed<left, rate]" lines to stdout at most every :func:`interval` seconds; a
    loop that ends sooner than that prints nothing."""
    stream = sys.stdout if isinstance(sys.stdout, LineWriter) else LineWriter(sys.stdout)
    bar = tqdm(
        items,
        total=total,
        initial=initial,
        desc=what,
        file=stream,
        mininterval=interval(),
        delay=interval(),  # a loop shorter than the interval prints nothing
        bar_format=BAR_FORMAT,
        ascii=True,
        position=0,
    )
    _open_bars.append(bar)
    try:
        yield from bar
    finally:
        _open_bars.remove(bar)
        bar.close()


class _Heartbeat(threading.Thread):
    """Writes a line whenever ``stream`` has been silent for the interval, until stopped."""

    def __init__(self, stream: LineWriter, rule: str, every: float) -> None:
        super().__init__(daemon=True)
        self.stream, self.rule, self.every = stream, rule, every
        self.start_time = time.monotonic()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(min(self.every, max(0.05, self.every - (time.monotonic() - self.stream.last)))):
            if time.monotonic() - self.stream.last < self.every:
                continue
            if _open_bars:
                _open_bars[-1].refresh()
            else:
                self.stream.write(f"[{self.rule}] running, {time.monotonic() - self.start_time:.0f} s elapsed\n")


def _use_threads(threads: int) -> int:
    """Give torch the job's thread count if this job uses torch (figure and claims jobs never import it)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    return threads


@contextlib.contextmanager
def logged(snakemake: Any) -> Iterator[None]:
    """Send stdout and stderr to the job's ``log:`` file, line by line, with a heartbeat; use the job's
    ``threads`` for torch."""
    threads = _use_threads(max(1, int(snakemake.threads)))
    with open(snakemake.log[0], "a") as log:
        stream = LineWriter(log)
        heartbeat = _Heartbeat(stream, snakemake.rule, interval())
        with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):  # type: ignore[type-var]
            start = time.perf_counter()
            print(f"[{snakemake.rule}] start, {threads} threads, outputs {list(snakemake.output)}")
            heartbeat.start()
            try:
                yield
            except Exception as error:
                # The traceback goes to the log; the one-line reason also to the terminal running Snakemake.
                traceback.print_exc()
                print(
                    f"error in rule {snakemake.rule}: {type(error).__name__}: {error}", file=sys.__stderr__, flush=True
                )
                raise
            finally:
                heartbeat.stopped.set()
                heartbeat.join()
            print(f"[{snakemake.rule}] done in {time.perf_counter() - start:.1f} s")
