"""Where alerts go, on 127.0.0.1: a webhook receiver, an SMTP server and a dead-man ping URL.

``WebhookReceiver`` records each request (method, path, JSON body) and answers with the next
status of ``answers`` (200 once they run out), so a test can make the first delivery fail.
``SmtpReceiver`` speaks enough SMTP (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA with
dot-unstuffing, RSET, NOOP, QUIT) to take real messages from ``smtplib``, and keeps each as
an ``email.message.Message``.
"""

from __future__ import annotations

import email
import json
import socketserver
import threading
from collections import deque
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """An HTTP endpoint that records what it is sent."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: deque[int] = deque(answers or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer(json.loads(body) if body else None)

            def do_GET(self) -> None:
                self._answer(None)

            def _answer(self, body: Any) -> None:
                receiver.requests.append({"method": self.command, "path": self.path, "body": body})
                status = receiver.answers.popleft() if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[Any]:
        """The JSON bodies POSTed so far, in order."""
        return [request["body"] for request in self.requests if request["method"] == "POST"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """A small SMTP server keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.reply("220 fake-smtp ESMTP ready")
                sender, recipients = "", []
                while line := self.rfile.readline():
                    verb = line.decode().strip().split(" ", 1)[0].split(":", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 fake-smtp")
                    elif verb == "MAIL":
                        sender, recipients = _address(line), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(_address(line))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        receiver.take(self.read_data(), sender, recipients)
                        self.reply("250 OK: queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:  # RSET, NOOP, anything else
                        self.reply("250 OK")

            def read_data(self) -> bytes:
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                return b"".join(lines)

            def reply(self, text: str) -> None:
                self.wfile.write(text.encode() + b"\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, data: bytes, sender: str, recipients: list[str]) -> None:
        self.messages.append(email.message_from_bytes(data))
        self.envelopes.append((sender, recipients))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _address(line: bytes) -> str:
    return line.decode().split(":", 1)[1].strip().split(" ")[0].strip("<>")
