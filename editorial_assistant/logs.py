"""Where log records go: journald's native protocol under systemd, else one readable stderr line.

Under systemd each record becomes one journal entry with structured fields: ``PRIORITY``,
``CODE_FILE``/``CODE_LINE``/``CODE_FUNC``, ``LOGGER``, ``TRACEBACK`` for errors and, where known,
``JOB_ID``, ``REQUEST_ID``, ``PHASE`` and ``USER``, so ``journalctl -u
editorial-assistant-worker JOB_ID=42`` tells one job's story. Elsewhere the same fields end the
stderr line (``job=42 phase=formatter``). The fields come from a context variable set with
``log_context`` (per thread and per asyncio task), or from ``extra={"job_id": …}`` for one
record. We speak the protocol ourselves (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/) because
systemd-python needs libsystemd's headers and a compiler to install. Nothing here writes a file.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import struct
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import TextIO

JOURNAL_SOCKET = Path("/run/systemd/journal/socket")
IDENTIFIER = "editorial-assistant"
# The context fields, in the order they are shown, with their stderr labels.
CONTEXT_FIELDS = {"job_id": "job", "phase": "phase", "request_id": "request", "user": "user"}
_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("log_context", default=_EMPTY)
_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL
_SEND_BUFFER = 8 * 1024 * 1024  # as sd_journal does: fewer messages need the memfd path
_PLAIN = logging.Formatter()


@contextmanager
def log_context(
    *,
    job_id: int | str | None = None,
    phase: str | None = None,
    request_id: str | None = None,
    user: str | None = None,
) -> Iterator[None]:
    """Add these fields to every record logged inside the block, in this thread or task only."""
    given = {"job_id": job_id, "phase": phase, "request_id": request_id, "user": user}
    added = {name: str(value) for name, value in given.items() if value is not None}
    token = _context.set(MappingProxyType({**_context.get(), **added}))
    try:
        yield
    finally:
        _context.reset(token)


def set_log_user(name: str | None) -> None:
    """Name the user acting in the current request (the auth hook); None forgets it."""
    fields = {key: value for key, value in _context.get().items() if key != "user"}
    _context.set(MappingProxyType(fields if name is None else {**fields, "user": name}))


def current_log_context() -> dict[str, str]:
    """The context fields set here, e.g. ``{"job_id": "42", "phase": "seo"}``."""
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the context fields onto each record unless ``extra=`` already gave them."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, context.get(name))
        return True


def record_context(record: logging.LogRecord) -> dict[str, str]:
    """The context fields a record carries, without the unknown ones."""
    values = {name: getattr(record, name, None) for name in CONTEXT_FIELDS}
    return {name: str(value) for name, value in values.items() if value is not None}


def syslog_priority(levelno: int) -> int:
    """journald's ``PRIORITY`` (a syslog level) for a ``logging`` level."""
    for threshold, priority in ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4)):
        if levelno >= threshold:
            return priority
    return 6 if levelno >= logging.INFO else 7


def traceback_text(record: logging.LogRecord) -> str:
    """The exception and stack text of a record, or ``""``."""
    if record.exc_info and not record.exc_text:
        record.exc_text = _PLAIN.formatException(record.exc_info)
    return "\n".join(part for part in (record.exc_text, record.stack_info) if part)


def journal_fields(
    record: logging.LogRecord, identifier: str = IDENTIFIER
) -> list[tuple[str, str]]:
    """The journal entry for one record, as (field name, value) pairs."""
    message, traceback = record.getMessage(), traceback_text(record)
    fields: list[tuple[str, str | None]] = [
        ("MESSAGE", f"{message}\n{traceback}" if traceback else message),
        ("PRIORITY", str(syslog_priority(record.levelno))),
        ("SYSLOG_IDENTIFIER", identifier),
        ("CODE_FILE", record.pathname),
        ("CODE_LINE", str(record.lineno)),
        ("CODE_FUNC", record.funcName),
        ("LOGGER", record.name),
    ]
    fields += [("TRACEBACK", traceback or None)]
    fields += [("MESSAGE_ID", getattr(record, "message_id", None))]  # stable IDs for alerts
    fields += [(name.upper(), value) for name, value in record_context(record).items()]
    return [(name, value) for name, value in fields if value is not None]


def journal_entry(fields: Iterable[tuple[str, str]]) -> bytes:
    """Serialize fields: ``KEY=value`` lines; a value with a newline goes length-prefixed."""
    entry = bytearray()
    for name, value in fields:
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            entry += name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            entry += name.encode() + b"=" + data + b"\n"
    return bytes(entry)


class LineFormatter(logging.Formatter):
    """``LEVEL logger: message | job=42 phase=formatter``; a traceback follows on its own lines.

    With ``priority_prefix`` every line starts with ``<N>`` (the syslog level), which journald
    reads from a service's stderr, for when the native socket is not there.
    """

    def __init__(self, *, priority_prefix: bool = False) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.priority_prefix = priority_prefix

    def formatMessage(self, record: logging.LogRecord) -> str:
        context = record_context(record)
        shown = " ".join(f"{CONTEXT_FIELDS[name]}={value}" for name, value in context.items())
        line = super().formatMessage(record)
        return f"{line} | {shown}" if shown else line

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.priority_prefix:
            return text
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.split("\n"))


class StderrHandler(logging.StreamHandler):
    """One ``LineFormatter`` line per record on ``stream``, or on whatever ``sys.stderr`` is now."""

    def __init__(self, stream: TextIO | None = None, *, priority_prefix: bool = False) -> None:
        super().__init__(stream or sys.stderr)
        self.follows_stderr = stream is None  # click's test runner and others swap sys.stderr
        self.setFormatter(LineFormatter(priority_prefix=priority_prefix))
        self.addFilter(ContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        if self.follows_stderr:
            self.stream = sys.stderr
        super().emit(record)


class JournalHandler(logging.Handler):
    """Sends each record to journald as one native-protocol datagram.

    The socket opens on first use in each process, so a forked gunicorn worker gets its own.
    An entry too big for a datagram goes in a sealed memfd; if journald cannot be reached at
    all, the record goes to ``fallback`` (stderr) with a ``<N>`` priority prefix instead.
    """

    def __init__(
        self,
        socket_path: Path = JOURNAL_SOCKET,
        *,
        identifier: str = IDENTIFIER,
        fallback: TextIO | None = None,
    ) -> None:
        super().__init__()
        self.socket_path, self.identifier = socket_path, identifier
        self.fallback = StderrHandler(fallback, priority_prefix=True)
        self._socket: socket.socket | None = None
        self._pid = 0
        self.addFilter(ContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = journal_entry(journal_fields(record, self.identifier))
        except Exception:
            self.handleError(record)
            return
        try:
            self._send(entry)
        except OSError:
            self.fallback.handle(record)

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # Handler.lock exists once __init__ ran
            if self._socket is not None:
                self._socket.close()
                self._socket = None
        super().close()

    def _send(self, entry: bytes) -> None:
        sock, address = self._connection(), str(self.socket_path)
        try:
            sock.sendto(entry, address)
        except OSError as exc:
            if exc.errno not in (errno.EMSGSIZE, errno.ENOBUFS):
                raise
            send_in_memfd(sock, address, entry)

    def _connection(self) -> socket.socket:
        if self._socket is None or self._pid != os.getpid():
            if self._socket is not None:
                self._socket.close()  # a forked child's copy of the parent's socket
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            with suppress(OSError):
                self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
            self._pid = os.getpid()
        return self._socket


def send_in_memfd(sock: socket.socket, address: str, entry: bytes) -> None:
    """Hand journald a large entry as a sealed memfd with an empty datagram (SCM_RIGHTS)."""
    fd = os.memfd_create("journal-entry", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        with open(fd, "wb", closefd=False) as memfd:
            memfd.write(entry)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fd))]
        sock.sendmsg([], rights, 0, address)
    finally:
        os.close(fd)


def is_journal_stream(stream: TextIO, journal_stream: str | None) -> bool:
    """True when ``$JOURNAL_STREAM`` (``device:inode``) names ``stream``: systemd reads it."""
    if not journal_stream:
        return False
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):  # no file behind the stream (pytest's capture, a StringIO)
        return False
    return journal_stream == f"{info.st_dev}:{info.st_ino}"


def configure_logging(
    level: str,
    *,
    stream: TextIO | None = None,
    journal_socket: Path | None = None,
    journal_stream: str | None = None,
) -> logging.Handler:
    """Send every record to journald when systemd reads ``stream``, else a line to ``stream``.

    ``journal_stream`` is ``$JOURNAL_STREAM`` (from the settings' environment); ``stream``
    defaults to stderr. Calling it again replaces the handler it installed before.
    """
    socket_path = journal_socket or JOURNAL_SOCKET
    under_systemd = is_journal_stream(stream or sys.stderr, journal_stream)
    handler: logging.Handler
    if under_systemd and socket_path.is_socket():
        handler = JournalHandler(socket_path, fallback=stream)
    else:
        handler = StderrHandler(stream, priority_prefix=under_systemd)
    root = logging.getLogger()
    for old in service_handlers():
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def service_handlers() -> list[logging.Handler]:
    """The handlers ``configure_logging`` installed on the root logger."""
    ours = (JournalHandler, StderrHandler)
    return [handler for handler in logging.getLogger().handlers if isinstance(handler, ours)]


def route_to_service_log(logger: logging.Logger) -> None:
    """Make a logger that does not propagate (gunicorn's error log) write through our handler."""
    handlers = service_handlers()
    if handlers:
        logger.handlers = handlers
