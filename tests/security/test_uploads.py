"""Hostile uploads: the multipart file name, the wrong body for the upload, and too many bytes.

Multipart bodies are written by hand here, so a file name reaches the server exactly as an
attacker would send it (raw quotes, backslashes, NUL bytes and line breaks, which a client library
would escape). A name may be refused, or accepted and reduced to a safe Media ID; either way
nothing is written outside ``<data>/transcripts/<Media ID>/`` and nothing is read back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from editorial_assistant.app import MULTIPART_OVERHEAD_BYTES
from editorial_assistant.config import Settings
from tests.conftest import SRT
from tests.security.conftest import MARKER, Attack

BOUNDARY = "ea-boundary-7c1e"
NAMES = (
    f"../../{MARKER}.srt",
    f"../../../../../../tmp/{MARKER}.srt",
    "/etc/passwd",
    f"/tmp/{MARKER}.srt",
    f"..\\..\\{MARKER}.srt",
    f"C:\\Windows\\{MARKER}.srt",
    f"..%2F..%2F{MARKER}.srt",
    f"%2e%2e/%2e%2e/{MARKER}.srt",
    f"{MARKER}/../../../x.srt",
    f"\uff0e\uff0e\uff0f{MARKER}.srt",  # fullwidth ../
    f"..\u2215..\u2215{MARKER}.srt",  # division slash
    f"\u202e{MARKER}trs.exe",  # right-to-left override
    f"a\x00{MARKER}.srt",
    f"a\r\nX-Injected: 1\r\n{MARKER}.srt",
    f"a\n{MARKER}.srt",
    f'a"; name="force"; x="{MARKER}.srt',
    f"a';--{MARKER}.srt",
    f"{MARKER}" + "x" * 300 + ".srt",
    "..",
    ".",
    "",
    "/",
    "~/.bashrc",
)
SAFE_MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def multipart(parts: list[tuple[str, bytes]]) -> bytes:
    """A multipart body from (Content-Disposition parameters, content) pairs, sent raw."""
    body = b""
    for disposition, content in parts:
        body += f"--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode(
            "utf-8", "surrogateescape"
        )
        body += content + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def upload_request(disposition: str, data: bytes = SRT.encode()) -> dict[str, Any]:
    """``client.request`` keywords for an upload with ``force`` set, so no name is a duplicate."""
    body = multipart([(f'name="file"; {disposition}', data), ('name="force"', b"true")])
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    return {
        "method": "POST",
        "url": "/api/transcripts",
        "content": body,
        "headers": {"Content-Type": content_type},
    }


def dispositions(name: str) -> Iterator[str]:
    """The name as ``filename="…"`` and as RFC 5987's ``filename*=UTF-8''…``."""
    yield f'filename="{name}"'
    escaped = "".join(c if c.isalnum() or c in "._-" else f"%{ord(c):02X}" for c in name)
    if all(ord(c) < 128 for c in name):
        yield f"filename*=UTF-8''{escaped}"


@pytest.mark.parametrize("persona", ["admin", "editor", "viewer"])
def test_a_hostile_file_name_is_refused_or_stored_under_a_safe_media_id(
    persona: str, attacker: Callable[[str], Attack], settings: Settings
) -> None:
    attack = attacker(persona)
    for name in NAMES:
        for disposition in dispositions(name):
            label = f"upload {disposition!r:.80}"
            response = attack.send(label, **upload_request(disposition))
            if response.status_code == 201:
                _expect_safe_submission(attack, label, response.json(), settings)
            else:
                status = response.status_code
                attack.expect(label, 400 <= status < 500, f"answered {status}")
    attack.report()


def _expect_safe_submission(attack: Attack, label: str, body: dict, settings: Settings) -> None:
    transcript, job = body["transcript"], body["job"]
    media_id = job["media_id"]
    attack.expect(label, bool(SAFE_MEDIA_ID.fullmatch(media_id)), f"Media ID {media_id!r}")
    filename = transcript["filename"]
    unsafe = "/" in filename or "\\" in filename or any(ord(c) < 32 for c in filename)
    attack.expect(label, not unsafe, f"file name kept as {filename!r}")
    stored = settings.data_dir / "transcripts" / media_id / f"{transcript['id']}.txt"
    attack.expect(label, stored.read_bytes() == SRT.encode(), f"not stored at {stored}")


def test_an_upload_sent_as_anything_but_multipart_is_refused_with_a_reason(
    attacker: Callable[[str], Attack],
) -> None:
    attack = attacker("admin")
    bodies = {
        "application/json": b'{"file": "1\\n00:00:01,000 --> 00:00:02,000\\nhi\\n"}',
        "text/plain": SRT.encode(),
        "application/x-www-form-urlencoded": b"file=" + SRT.encode(),
        "application/octet-stream": SRT.encode(),
        "multipart/form-data": SRT.encode(),  # no boundary
        f"multipart/form-data; boundary={BOUNDARY}": b"not multipart at all",
        f"multipart/form-data; boundary={BOUNDARY}x": upload_request('filename="a.srt"')["content"],
        "": SRT.encode(),
    }
    for content_type, body in bodies.items():
        response = attack.send(
            content_type,
            method="POST",
            url="/api/transcripts",
            content=body,
            headers={"Content-Type": content_type},
        )
        status = response.status_code
        attack.expect(content_type, status in (400, 415, 422), f"answered {status}")
        message = response.json()["error"]["message"] if status < 500 else ""
        clear = "file" in message.lower() or "multipart" in message.lower()
        attack.expect(content_type, clear, f"unclear message {message!r}")
    attack.report()


def test_an_upload_over_the_limit_is_refused_with_413_however_it_is_sent(
    attacker: Callable[[str], Attack], settings: Settings
) -> None:
    attack = attacker("admin")
    limit = settings.intake.max_upload_bytes
    just_over = upload_request('filename="2WLI1301HD.srt"', b"a" * (limit + 1))
    far_over = upload_request(
        'filename="2WLI1302HD.srt"', b"a" * (limit + MULTIPART_OVERHEAD_BYTES)
    )
    chunked = dict(far_over, content=_chunks(far_over["content"]))  # no Content-Length
    for label, request in (("just over", just_over), ("far over", far_over), ("chunked", chunked)):
        response = attack.send(label, **request)
        attack.expect(label, response.status_code == 413, f"answered {response.status_code}")
        if response.status_code == 413:
            code = response.json()["error"]["code"]
            attack.expect(label, code in ("file_too_large", "payload_too_large"), code)
    attack.report()


def _chunks(body: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]
