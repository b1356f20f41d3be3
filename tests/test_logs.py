"""Logs reach journald in its native protocol with their fields, or stderr as one readable line."""

from __future__ import annotations

import fcntl
import io
import logging
import os
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from gunicorn.config import Config
from gunicorn.glogging import Logger as GunicornLogger

from editorial_assistant.app import create_app
from editorial_assistant.config import Settings
from editorial_assistant.logs import (
    ContextFilter,
    JournalHandler,
    StderrHandler,
    configure_logging,
    current_log_context,
    journal_fields,
    log_context,
    route_to_service_log,
    set_log_user,
)
from editorial_assistant.worker import Worker
from tests.conftest import SRT, upload

JOURNALD_FIELD_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


class Journal:
    """A stand-in journald: a bound datagram socket whose entries a thread collects."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.settimeout(0.05)
        self.raw: list[bytes] = []
        self.senders: list[int] = []
        self.memfd_seals: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        space = socket.CMSG_SPACE(struct.calcsize("i")) + socket.CMSG_SPACE(12)
        while not self._stop.is_set():
            try:
                data, ancillary, _, _ = self.sock.recvmsg(1 << 20, space)
            except TimeoutError:
                continue
            for level, kind, payload in ancillary:
                if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS):
                    self.senders.append(struct.unpack("iII", payload[:12])[0])
                elif (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS):
                    data = self._read_memfd(struct.unpack("i", payload[:4])[0])
            self.raw.append(data)

    def _read_memfd(self, fd: int) -> bytes:
        try:
            self.memfd_seals.append(fcntl.fcntl(fd, fcntl.F_GET_SEALS))
            return os.pread(fd, os.fstat(fd).st_size, 0)
        finally:
            os.close(fd)

    def entries(self, count: int = 1) -> list[dict[str, str]]:
        """The entries received so far, waiting up to 5 s for at least ``count``."""
        deadline = time.monotonic() + 5
        while len(self.raw) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return [parse_entry(data) for data in self.raw]

    def entries_until(self, message: str) -> list[dict[str, str]]:
        """The entries received once one with this message has arrived (or 5 s have passed)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            entries = [parse_entry(data) for data in self.raw]
            if any(entry["MESSAGE"] == message for entry in entries):
                return entries
            time.sleep(0.01)
        raise AssertionError(f"no entry {message!r} in the journal")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def parse_entry(data: bytes) -> dict[str, str]:
    """Read the native protocol: ``KEY=value`` lines and ``KEY\\n<le64 size><value>\\n``."""
    fields: dict[str, str] = {}
    while data:
        line, _, rest = data.partition(b"\n")
        if b"=" in line:
            key, _, value = line.partition(b"=")
            data = rest
        else:
            key, size = line, struct.unpack("<Q", rest[:8])[0]
            value, data = rest[8 : 8 + size], rest[8 + size :]
            assert data[:1] == b"\n"
            data = data[1:]
        fields[key.decode()] = value.decode()
    return fields


@pytest.fixture
def journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journal]:
    # A short folder: a Unix socket path must fit in 108 bytes.
    journal = Journal(tmp_path_factory.mktemp("j") / "socket")
    yield journal
    journal.close()


@pytest.fixture
def log(journal: Journal) -> Iterator[logging.Logger]:
    """A logger of its own that writes only to the stand-in journal."""
    logger = logging.getLogger("tests.logs")
    handler = JournalHandler(journal.path)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger
    logger.removeHandler(handler)
    handler.close()


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, put back as it was afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_record_reaches_the_journal_with_its_fields(
    log: logging.Logger, journal: Journal
) -> None:
    with log_context(job_id=42, phase="formatter"):
        log.info("chunk %d of %d", 2, 3, extra={"request_id": "req-1"})
    [entry] = journal.entries()
    assert entry["MESSAGE"] == "chunk 2 of 3"
    assert entry["PRIORITY"] == "6"
    assert entry["SYSLOG_IDENTIFIER"] == "editorial-assistant"
    assert entry["CODE_FILE"] == __file__
    assert entry["CODE_FUNC"] == "test_a_record_reaches_the_journal_with_its_fields"
    assert int(entry["CODE_LINE"]) > 0
    assert entry["LOGGER"] == "tests.logs"
    assert (entry["JOB_ID"], entry["PHASE"], entry["REQUEST_ID"]) == ("42", "formatter", "req-1")
    assert "USER" not in entry and "TRACEBACK" not in entry


def test_an_explicit_extra_wins_over_the_context(log: logging.Logger, journal: Journal) -> None:
    with log_context(job_id=1, user="bob"):
        log.info("moved", extra={"job_id": 2})
        set_log_user("alice")
        log.info("renamed")
    first, second = journal.entries(2)
    assert (first["JOB_ID"], first["USER"]) == ("2", "bob")
    assert (second["JOB_ID"], second["USER"]) == ("1", "alice")
    assert current_log_context() == {}


def test_each_level_has_its_syslog_priority(log: logging.Logger, journal: Journal) -> None:
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        log.log(level, "at %s", logging.getLevelName(level))
    priorities = [entry["PRIORITY"] for entry in journal.entries(5)]
    assert priorities == ["7", "6", "4", "3", "2"]


def test_a_traceback_travels_in_the_binary_safe_form(log: logging.Logger, journal: Journal) -> None:
    try:
        raise ValueError("bad chunk")
    except ValueError:
        log.exception("formatter failed")
    [entry] = journal.entries()
    assert entry["PRIORITY"] == "3"
    assert entry["MESSAGE"].startswith("formatter failed\nTraceback (most recent call last):")
    assert entry["TRACEBACK"].endswith("ValueError: bad chunk")
    size = struct.pack("<Q", len(entry["TRACEBACK"].encode()))
    assert b"\nTRACEBACK\n" + size in journal.raw[0]
    assert b"\nPRIORITY=3\n" in journal.raw[0]


def test_every_field_name_follows_journald_rules() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, None, "f", "stack")
    for name in ("job_id", "phase", "request_id", "user"):
        setattr(record, name, "v")
    names = [name for name, _ in journal_fields(record)]
    assert {"MESSAGE", "PRIORITY", "TRACEBACK", "JOB_ID", "PHASE", "REQUEST_ID", "USER"} <= set(
        names
    )
    assert all(JOURNALD_FIELD_NAME.fullmatch(name) for name in names), names


def test_an_entry_too_big_for_a_datagram_goes_in_a_sealed_memfd(
    log: logging.Logger, journal: Journal
) -> None:
    # Bigger than any send buffer the handler can get (it asks for 8 MiB; Linux doubles it).
    log.info("x" * (17 * 1024 * 1024))
    [entry] = journal.entries()
    assert len(entry["MESSAGE"]) == 17 * 1024 * 1024
    seals = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
    assert journal.memfd_seals and journal.memfd_seals[0] & seals == seals


def test_without_journald_a_record_falls_back_to_stderr_with_its_priority(
    tmp_path: Path,
) -> None:
    stderr = io.StringIO()
    handler = JournalHandler(tmp_path / "no-such-socket", fallback=stderr)
    record = logging.LogRecord("ea", logging.WARNING, __file__, 1, "careful", None, None)
    with log_context(job_id=7):
        handler.handle(record)
    assert stderr.getvalue() == "<4>WARNING ea: careful | job=7\n"


def test_each_thread_keeps_its_own_context(log: logging.Logger, journal: Journal) -> None:
    both_inside = threading.Barrier(2)

    def run(job_id: int) -> None:
        with log_context(job_id=job_id, phase=f"phase-{job_id}"):
            both_inside.wait()
            log.info("thread of job %d", job_id)
            both_inside.wait()

    threads = [threading.Thread(target=run, args=(job_id,)) for job_id in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.info("main thread")
    entries = journal.entries(3)
    for entry in entries[:2]:
        assert entry["MESSAGE"] == f"thread of job {entry['JOB_ID']}"
        assert entry["PHASE"] == f"phase-{entry['JOB_ID']}"
    assert {entry["JOB_ID"] for entry in entries[:2]} == {"1", "2"}
    assert "JOB_ID" not in entries[2]


def test_a_forked_child_logs_through_a_socket_of_its_own(
    log: logging.Logger, journal: Journal
) -> None:
    log.info("parent before fork")
    journal.entries(1)
    [handler] = [h for h in log.handlers if isinstance(h, JournalHandler)]
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status, never return into pytest
        try:
            log.info("from the child")
            os._exit(0 if handler._pid == os.getpid() else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    log.info("parent after fork")
    entries = journal.entries(3)
    assert [entry["MESSAGE"] for entry in entries] == [
        "parent before fork",
        "from the child",
        "parent after fork",
    ]
    assert journal.senders == [os.getpid(), pid, os.getpid()]


def test_the_stderr_line_ends_with_the_context() -> None:
    stream = io.StringIO()
    handler = StderrHandler(stream)
    logger = logging.getLogger("ea.stderr")
    record = logger.makeRecord("ea.x", logging.INFO, __file__, 1, "phase %s", ("started",), None)
    with log_context(job_id=42, phase="formatter", request_id="r1"):
        handler.handle(record)
    assert stream.getvalue() == "INFO ea.x: phase started | job=42 phase=formatter request=r1\n"


def test_journald_is_used_only_when_systemd_reads_our_stderr(
    root: logging.Logger, journal: Journal, tmp_path: Path
) -> None:
    stderr = (tmp_path / "stderr").open("w")
    info = os.fstat(stderr.fileno())
    ours = f"{info.st_dev}:{info.st_ino}"
    cases = [
        (ours, journal.path, JournalHandler, None),
        (ours, tmp_path / "missing", StderrHandler, True),
        ("1:2", journal.path, StderrHandler, False),
        (None, journal.path, StderrHandler, False),
    ]
    for journal_stream, socket_path, kind, prefixed in cases:
        handler = configure_logging(
            "INFO", stream=stderr, journal_socket=socket_path, journal_stream=journal_stream
        )
        assert isinstance(handler, kind)
        assert [h for h in root.handlers if isinstance(h, (JournalHandler, StderrHandler))] == [
            handler
        ]
        if isinstance(handler, StderrHandler):
            assert handler.formatter.priority_prefix is prefixed  # type: ignore[union-attr]
    stderr.close()


def test_gunicorns_error_log_can_write_through_our_handler(root: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)

    class Logger(GunicornLogger):
        def setup(self, cfg: Config) -> None:
            super().setup(cfg)
            route_to_service_log(self.error_log)

    Logger(Config()).error("worker %s timed out", 7)
    assert stream.getvalue() == "ERROR gunicorn.error: worker 7 timed out\n"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("abc-123_x.y", True), ("a" * 64, True), ("a" * 65, False), ("no/slash", False), ("", False)],
)
def test_a_sane_request_id_is_kept_and_any_other_replaced(
    client: TestClient, sent: str, kept: bool
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    echoed = response.headers["X-Request-ID"]
    assert (echoed == sent) is kept
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", echoed)


def test_each_request_gets_a_fresh_id(client: TestClient) -> None:
    first, second = (client.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second


@pytest.mark.parametrize("path", ["/api/nowhere", "/api/jobs/abc"])
def test_error_responses_carry_the_request_id(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"X-Request-ID": "trace-me"})
    assert response.status_code in (404, 422)
    assert response.headers["X-Request-ID"] == "trace-me"
    assert response.json()["error"]["request_id"] == "trace-me"


class Records(logging.Handler):
    """Keeps the records it sees, with their context fields."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(ContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_request_logs_with_its_id_and_an_unexpected_error_once(
    settings: Settings, root: logging.Logger
) -> None:
    records = Records()
    root.addHandler(records)
    root.setLevel(logging.INFO)
    app: FastAPI = create_app(settings)

    @app.get("/api/boom")
    def boom() -> None:
        logging.getLogger("tests.boom").info("about to fail")
        raise RuntimeError("secret internals")

    # raise_server_exceptions: an error re-raised past the app would fail this request.
    with TestClient(app, raise_server_exceptions=True) as client:
        response = client.get("/api/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500 and "secret" not in response.text
    assert response.headers["X-Request-ID"] == response.json()["error"]["request_id"] == "boom-1"
    ours = [r for r in records.records if getattr(r, "request_id", None) == "boom-1"]
    assert [(r.levelname, r.getMessage()) for r in ours[:2]] == [
        ("INFO", "about to fail"),
        ("ERROR", "unhandled error on GET /api/boom"),
    ]
    # Then the access line, without a second traceback.
    assert len(ours) == 3 and ours[2].levelname == "WARNING"
    assert ours[2].getMessage().startswith("GET /api/boom 500 ")
    assert ours[1].exc_info is not None and ours[2].exc_info is None
    assert ours[2].name == "editorial_assistant.access"


def test_a_jobs_log_lines_carry_its_job_id_and_phase(
    client: TestClient, worker: Worker, journal: Journal, root: logging.Logger
) -> None:
    root.addHandler(JournalHandler(journal.path))
    root.setLevel(logging.INFO)
    job_id = upload(client, "2WLI1209HD.srt", SRT).json()["job"]["id"]
    assert worker.run(job_id) == "completed"
    logging.getLogger("tests").info("end of story")
    story = [e for e in journal.entries_until("end of story") if e.get("JOB_ID") == str(job_id)]
    messages = [entry["MESSAGE"] for entry in story]
    assert messages[0].startswith(f"job {job_id}: running on ")
    assert messages[-1] == f"job {job_id} completed: Completed."
    formatter = [entry["MESSAGE"] for entry in story if entry.get("PHASE") == "formatter"]
    assert formatter[0].startswith(f"job {job_id} formatter: started at tier")
    assert formatter[-1].startswith(f"job {job_id} formatter: wrote formatted_transcript.md")
