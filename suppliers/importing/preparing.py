"""Rows read, cleaned and normalised in a second process while this one matches and stores.

Preparing a row (``Analysis.prepare``: cleaning, the any-script keys of its name and
address) needs nothing but the row, and is half of what reading a list costs. For a long
list a helper process, forked from this one, reads the file and prepares its rows on the
machine's other core, while this process matches the rows it gets back, settles their
changes and sends them to the database:

- **Forked, with billiard** (Celery's own multiprocessing): a Celery worker's processes are
  daemonic, and the standard library refuses them children; billiard does not. Forking
  shares what this process has loaded (settings, translations, the transliteration tables,
  the open file) without a start-up. The helper never touches the database, the cache or
  the broker, and ends with ``os._exit``, so the connections it inherited stay this
  process's. From the fork on, only the helper reads the file.
- **The helper reads the file too**: a thread here that fed it rows would wait for this
  process's busy thread to let go of the interpreter lock at every chunk.
- **Bounded**: chunks of ``CHUNK`` rows go through a pipe (enlarged to ``PIPE_BYTES`` where
  Linux allows), up to ``AHEAD`` chunks a message. While it is full (this process busy
  matching a batch), the helper goes on preparing up to ``AHEAD`` more chunks, then waits:
  at most twice ``AHEAD`` chunks ahead of this process, never a whole file, so memory stays
  flat with the file's length.
- **The same rows, in the same order**: the helper runs ``Analysis.prepare`` itself; a row
  comes back as it would from a call here (``_flat``/``_unflat`` only carry its parts).
- **Failures are the same failures**: an error reading the file (a bad CSV row, an
  undecodable line) is raised here, after the rows before it, as the same exception; any
  other error in the helper is raised here with its traceback; a helper that dies is an
  error, never a shorter list. A time limit or any exception here stops the helper.

Short lists, any platform without ``fork``, and a fork that fails (memory, a process limit)
are prepared in this process: the same function, a chunk at a time.
"""

from __future__ import annotations

import fcntl
import gc
import itertools
import logging
import multiprocessing
import pickle
import queue
import resource
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from suppliers.importing.matching import Probe
from suppliers.importing.normalise import NameKey
from suppliers.importing.parsing import Table

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from suppliers.importing.analysis import Analysis, Prepared, PreviewRow

logger = logging.getLogger(__name__)

CHUNK = 100  # rows a message carries (fewer if a batch is smaller)
GARBAGE_EVERY = 25_000  # rows read between two collections of young garbage
AHEAD = 100  # prepared chunks queued in the helper, and the most a message carries
PIPE_BYTES = 1 << 20  # Linux's largest pipe for an unprivileged process (pipe-max-size)
_END, _RAISED, _FAILED = "end", "raised", "failed"

Chunk = list["PreviewRow | Prepared"]
# How far through the file (0.0 to 1.0), and the rows of one chunk, prepared.
Chunks = Iterator[tuple[float, Chunk]]


class HelperFailed(RuntimeError):
    """The helper process failed or died while preparing rows."""


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


@contextmanager
def prepared_chunks(
    analysis: Analysis, table: Table, *, parallel: bool, size: int = CHUNK
) -> Iterator[Chunks]:
    """The file's rows prepared, ``size`` at a time and in order, each chunk with how far
    through the file it ends: by a helper process if ``parallel`` (and this platform
    forks), else here."""
    if not (parallel and can_fork()):
        yield _here(analysis, table, size)
        return
    try:
        helper = _Helper(analysis, table, size)
    except OSError:  # no fork now (memory, a process limit): one process does it all
        logger.warning("Could not start a helper process: rows prepared here", exc_info=True)
        yield _here(analysis, table, size)
        return
    try:
        yield helper.chunks()
    finally:
        helper.stop()


def _here(analysis: Analysis, table: Table, size: int) -> Chunks:
    prepare, rows = analysis.prepare, table.rows
    while chunk := list(itertools.islice(rows, size)):
        yield table.position(), [prepare(line, cells) for line, cells in chunk]


@contextmanager
def young_garbage_only(every: int = GARBAGE_EVERY) -> Iterator[Callable[[int], None]]:
    """Python's collector paused, and a function to call with the rows done so far: once
    ``every`` more rows are done, it collects the young generations (the objects made since
    it last did).

    A file's rows and the match index are many small objects, and a full collection walks
    every one of them, again and again while a long list is read: a quarter of the
    reading's time. Rows hold no cycles (they are freed as soon as a batch is stored), so
    collecting the young objects now and then is enough; the collector is itself again on
    the way out, whatever happened."""
    enabled = gc.isenabled()
    gc.disable()
    collected = 0

    def collect(done: int) -> None:
        nonlocal collected
        if done - collected >= every:
            gc.collect(1)
            collected = done

    try:
        yield collect
    finally:
        if enabled:
            gc.enable()


# --- Rows across the pipe --------------------------------------------------------------------
# A prepared row as plain tuples, strings and dicts, which pickle in C: the dataclasses
# themselves pickle several times slower. Error rows (few) travel as they are, cells and all.


def _flat(row: PreviewRow | Prepared) -> Any:
    from suppliers.importing.analysis import Prepared

    if not isinstance(row, Prepared):
        return row
    probe = row.probe
    names = [tuple(name) for name in probe.names]
    # Not the row's cells: only an error row keeps them, and the few rows the matching
    # turns into errors have theirs read again from the file (``_keep_cells_of_clashes``).
    return (row.line, None, row.values, names, probe.city, probe.akey, row.key)


def _unflat(item: Any) -> PreviewRow | Prepared:
    from suppliers.importing.analysis import Prepared

    if not isinstance(item, tuple):
        return item  # type: ignore[no-any-return]
    line, cells, values, names, city, akey, key = item
    probe = Probe([NameKey._make(name) for name in names], city, akey)
    return Prepared(line, cells, values, probe, key)


# --- The helper --------------------------------------------------------------------------------


def _serve(
    analysis: Analysis, table: Table, size: int, outbox: Connection, ours: Connection
) -> None:
    """The helper: the file's rows, read and prepared a chunk at a time, into the pipe.

    A thread of its own sends the prepared chunks: while the importing process is busy
    matching a batch and the pipe is full, preparing goes on, up to ``AHEAD`` chunks."""
    ours.close()  # the importing process's end of the pipe
    waiting: queue.Queue[Any] = queue.Queue(maxsize=AHEAD)
    sender = threading.Thread(target=_send_all, args=(waiting, outbox), daemon=True)
    sender.start()
    prepare, rows = analysis.prepare, table.rows
    try:
        with young_garbage_only() as collect:
            done = 0
            while chunk := list(itertools.islice(rows, size)):
                prepared = [_flat(prepare(line, cells)) for line, cells in chunk]
                if not _put(waiting, sender, (table.position(), prepared)):
                    return  # the importing process stopped listening
                done += len(chunk)
                collect(done)
    except Exception as exc:  # the file's own error (a bad row), or a fault
        try:
            pickle.dumps(exc)
        except Exception:  # the exception does not pickle: its text does
            _put(waiting, sender, (_FAILED, traceback.format_exc()))
        else:
            _put(waiting, sender, (_RAISED, exc, traceback.format_exc()))
    else:
        _put(waiting, sender, (_END, done, _peak_mb()))
    sender.join()


def _put(waiting: queue.Queue[Any], sender: threading.Thread, message: Any) -> bool:
    """Queue a message for the sending thread; False once that thread has stopped."""
    while sender.is_alive():
        try:
            waiting.put(message, timeout=1)
            return True
        except queue.Full:
            continue
    return False


def _send_all(waiting: queue.Queue[Any], outbox: Connection) -> None:
    """The helper's sending thread: whatever is queued, in one message each time. A thread
    waits for the interpreter lock up to a switch interval (5 ms) whenever the preparing
    thread holds it: one chunk a message would cap the helper at a chunk each 5 ms."""
    try:
        while True:
            messages = [waiting.get()]
            with suppress(queue.Empty):
                while len(messages) < AHEAD:
                    messages.append(waiting.get_nowait())
            outbox.send(messages)
            last = messages[-1]
            if last[0] in (_END, _RAISED, _FAILED):
                return
    except OSError:
        return  # the importing process stopped listening: nothing more to do


def _peak_mb() -> int:
    """This process's peak resident memory, in MB (Linux counts kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _enlarge(connection: Connection) -> None:
    """Let the pipe hold more chunks than the 64 KB Linux starts it with (best effort)."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is None:
        return
    with suppress(OSError):
        fcntl.fcntl(connection.fileno(), setpipe, PIPE_BYTES)


class _Helper:
    def __init__(self, analysis: Analysis, table: Table, size: int) -> None:
        import billiard

        analysis.load_tables()  # built here once, shared with the helper
        context: Any = billiard.get_context("fork")
        self.inbound, outbox = context.Pipe(duplex=False)
        _enlarge(self.inbound)
        self.process = context.Process(
            target=_serve,
            args=(analysis, table, size, outbox, self.inbound),
            name="supplier-import-prepare",
            daemon=True,
        )
        try:
            self.process.start()
        except OSError:
            self.inbound.close()
            raise
        finally:
            outbox.close()  # the helper's end: only the helper writes to it
        logger.info("Rows prepared by helper process %s", self.process.pid)

    def chunks(self) -> Chunks:
        receive = self.inbound.recv
        while True:
            try:
                messages = receive()
            except EOFError:
                self.process.join(timeout=5)
                raise HelperFailed(
                    f"the helper preparing rows stopped (exit code {self.process.exitcode})"
                ) from None
            for message in messages:
                if message[0] == _END:
                    _kind, rows_done, peak_mb = message
                    logger.info(
                        "Helper process %s prepared %s rows, peak memory %s MB",
                        self.process.pid,
                        rows_done,
                        peak_mb,
                    )
                    return
                if message[0] == _RAISED:
                    _kind, exc, helper_traceback = message
                    exc.add_note(f"Raised in the helper preparing rows:\n{helper_traceback}")
                    raise exc
                if message[0] == _FAILED:
                    raise HelperFailed(f"the helper preparing rows failed:\n{message[1]}")
                position, rows = message
                yield position, [_unflat(item) for item in rows]

    def stop(self) -> None:
        """Stop the helper, whether it finished or not: closing the pipe ends its writing."""
        self.inbound.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
