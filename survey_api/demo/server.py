"""The demo's side of HTTP: a small JSON client on the standard library's urllib, and a `serve` child
started when no server answers. urllib rather than httpx: httpx stays a test-only dependency, and the
demo needs nothing more than a few dozen sequential requests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STARTUP_S = 90.0


class DemoError(RuntimeError):
    """A step of the demo the server refused; the message says which request and what came back."""


class Api:
    """Requests under one base URL with one bearer token."""

    def __init__(self, base: str, token: str | None = None, hook: Callable[[], None] | None = None) -> None:
        self.base, self.token, self.hook = base.rstrip("/"), token, hook

    def as_(self, token: str) -> Api:
        return Api(self.base, token, self.hook)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        ok: tuple[int, ...] = (200, 201, 204),
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """The decoded JSON (or the bytes) of the answer; a status outside `ok` raises DemoError."""
        status, data = self.send(method, path, body, raw=raw, content_type=content_type)
        if self.hook is not None:
            self.hook()
        if status not in ok:
            raise DemoError(f"{method} {path} -> {status}: {data[:600].decode(errors='replace')}")
        return decode(data)

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, bytes]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.url(path), data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def upload(self, path: str, filename: str, content: bytes, media: str) -> Any:
        """A multipart/form-data POST with one `file` part, as a browser sends a workbook."""
        status, data = self.post_parts(path, [("file", filename, media, content)])
        if self.hook is not None:
            self.hook()
        if status not in (200, 201):
            raise DemoError(f"POST {path} -> {status}: {data[:600].decode(errors='replace')}")
        return decode(data)

    def post_parts(self, path: str, parts: list[tuple[str, str, str, bytes]]) -> tuple[int, bytes]:
        """A multipart/form-data POST of (field name, file name, media type, bytes) parts."""
        boundary = uuid.uuid4().hex
        raw = b"".join(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {media}\r\n\r\n"
            ).encode()
            + content
            + b"\r\n"
            for name, filename, media, content in parts
        )
        raw += f"--{boundary}--\r\n".encode()
        return self.send("POST", path, raw=raw, content_type=f"multipart/form-data; boundary={boundary}")

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"


def decode(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data


def answers(url: str) -> bool:
    """Whether a survey-api server answers /health at this URL."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=2) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class Child:
    """`survey-api serve` as a child process on the caller's settings (same data dir or database)."""

    def __init__(self, url: str, log: Path, detach: bool) -> None:
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 8000
        if not free(host, port):
            with socket.socket() as sock:
                sock.bind((host, 0))
                port = sock.getsockname()[1]
        self.url = f"http://{host}:{port}"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "survey_api.cli", "serve", "--host", host, "--port", str(port)],
                env=os.environ.copy(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=detach,  # --keep-serving: it outlives the demo and a Ctrl-C in its terminal
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DemoError(f"serve exited with {self.process.returncode}; see {self.log}")
            if answers(self.url):
                return
            time.sleep(0.2)
        self.stop()
        raise DemoError(f"serve did not answer within {STARTUP_S:g} s; see {self.log}")

    def stop(self) -> None:
        """SIGTERM, so the embedded PostgreSQL is released as after any `serve`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def make_admin(email: str) -> str:
    """A fresh admin's token from `survey-api user create --admin` on the same settings as the server."""
    done = subprocess.run(
        [sys.executable, "-m", "survey_api.cli", "user", "create", email, "--admin", "--name", "Demo admin"],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    if done.returncode != 0:
        raise DemoError(
            f"could not make an admin ({done.stderr.strip()}); give one with --admin-token or SURVEY_ADMIN_TOKEN"
        )
    return json.loads(done.stdout)["token"]
