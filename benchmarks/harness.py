"""The real `survey-api` as child processes on a data dir of their own: for benchmarks and end-to-end tests.

Every benchmark and every end-to-end test starts the same things: `survey-api serve` on a free port,
waits for `/health`, makes an admin with `survey-api user create`, and (benchmarks) reaches the same
PostgreSQL for its own SQL. It lives here, not in `tests/e2e/`, because the benchmarks run as plain
scripts (`python benchmarks/x.py` puts `benchmarks/` on sys.path, so `from harness import ...` needs
nothing more), while pytest and `python -m` put the repo root on sys.path, where the tests find it as
`benchmarks.harness`; the other way round every benchmark would patch sys.path to reach into tests.

Failures raise `HarnessError` carrying the server's log (and PostgreSQL's), which pytest shows as is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import psutil

CLI = [sys.executable, "-m", "survey_api.cli"]
STARTUP_DEADLINE_S = 60.0
STOP_DEADLINE_S = 20.0


class HarnessError(RuntimeError):
    """A server or command that did not do what was asked; the message holds its log."""


def log(message: str) -> None:
    """Progress on stderr, so a benchmark's stdout stays one JSON object."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def asyncpg_dsn(url: str) -> str:
    """The app's SQLAlchemy URL (`postgresql+asyncpg://`) as asyncpg's own `connect` takes it."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


class Server:
    """One `survey-api serve` child, its port and its captured output."""

    def __init__(self, instance: Instance, name: str, *extra: str, profile: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = instance
        self.stderr = instance.logs_dir / f"{name}.stderr"
        python = [sys.executable, "-m", "cProfile", "-o", profile] if profile else [sys.executable]
        with self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [*python, "-m", "survey_api.cli", "serve", "--port", str(self.port), *extra],
                env=instance.env,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")[-6000:]

    def failures(self) -> list[str]:
        """Logged errors, but for clients that hung up before their answer (a tablet's cue to retry)."""
        entries = re.split(r"(?m)^(?=ERROR - )", self.stderr.read_text(errors="replace"))
        return [e[:6000] for e in entries if e.startswith("ERROR - ") and "client disconnected" not in e]

    def explain(self, response: httpx.Response | None = None) -> str:
        said = ""
        if response is not None:
            request = response.request
            said = f"{request.method} {request.url} -> {response.status_code} {response.text[:2000]}\n"
        return f"{said}--- serve on port {self.port} said:\n{self.log()}{self.instance.postgres_log()}"

    def wait_ready(self, deadline_s: float = STARTUP_DEADLINE_S) -> Server:
        """Poll /health until 200; fail at once, with the log, if the process dies first."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(
                    f"serve exited with {self.process.returncode} before answering\n{self.explain()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        raise HarnessError(f"serve did not answer /health within {deadline_s} s\n{self.explain()}")

    def client(self, token: str | None = None, timeout: float = 10) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def ok(self, response: httpx.Response) -> Any:
        """The JSON of a 2xx answer; anything else stops the run with what the server said."""
        if response.status_code >= 300:
            raise HarnessError(self.explain(response))
        return response.json() if response.content else None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """SIGTERM, as systemd or `docker stop` would send, and the exit code (a profile is written too)."""
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            raise HarnessError(
                f"serve ignored signal {sig} for {STOP_DEADLINE_S} s\n{self.explain()}"
            ) from None

    def kill(self) -> None:
        """Teardown: a graceful stop first, so the postmaster goes with it; SIGKILL if that hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


class Instance:
    """A data dir, the environment every child gets, and the children started on it.

    By default that of a user who has set nothing but `SURVEY_DATA_DIR`: the first process starts the
    embedded PostgreSQL in it. `database_url` points them at a PostgreSQL of your own instead; `env`
    adds variables (`SURVEY_INTAKE_PROCESSES`, ...). The data dir is made with `mkdtemp`, outside
    pytest's tmp dir (see tests/e2e/test_e2e_serve.py); logs go to `logs_dir`, else into it.
    """

    def __init__(
        self,
        logs_dir: Path | None = None,
        *,
        database_url: str | None = None,
        env: Mapping[str, str] | None = None,
        prefix: str = "survey-e2e-",
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=prefix)).resolve()
        self.logs_dir = logs_dir or self.root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
        self.env["SURVEY_DATA_DIR"] = str(self.root / "data")
        if database_url:
            self.env["SURVEY_DATABASE_URL"] = database_url
        self.env |= env or {}
        self.data_dir = Path(self.env["SURVEY_DATA_DIR"]).resolve()
        self.pgdata = self.data_dir / "pg"
        self.servers: list[Server] = []
        self._embedded: Any = None

    def serve(self, *extra: str, profile: str | None = None) -> Server:
        """Start `survey-api serve` with these extra arguments; call `wait_ready` on what comes back."""
        server = Server(self, f"serve-{len(self.servers)}", *extra, profile=profile)
        self.servers.append(server)
        return server

    def cli(self, *args: str, timeout: float = STARTUP_DEADLINE_S) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def run(self, *args: str, timeout: float = 600) -> str:
        """A `survey-api` command that must succeed (`migrate`, ...); its stdout."""
        done = self.cli(*args, timeout=timeout)
        if done.returncode != 0:
            raise HarnessError(f"survey-api {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return done.stdout

    def create_admin(self, email: str = "admin@example.org") -> str:
        """An admin made by `survey-api user create --admin`; its token."""
        done = self.cli("user", "create", email, "--admin")
        if done.returncode != 0:
            raise HarnessError(f"user create failed ({done.returncode}):\n{done.stderr}{self.postgres_log()}")
        return json.loads(done.stdout)["token"]

    def database_url(self) -> str:
        """The app's database as an asyncpg SQLAlchemy URL, for a benchmark's own SQL.

        The given URL, or the embedded PostgreSQL on this data dir, started or joined (pgserver counts
        its users, so it outlives the servers until `release`); its database is created if missing.
        """
        from survey_api.embedded import DATABASE, EmbeddedPostgres, ensure_database
        from survey_api.settings import normalise_url

        if given := normalise_url(self.env.get("SURVEY_DATABASE_URL")):
            return given
        if self._embedded is None:
            self._embedded = EmbeddedPostgres(self.data_dir)
            self._embedded.start()
            asyncio.run(ensure_database(self._embedded.admin_dsn(), DATABASE))
        return self._embedded.url(DATABASE)

    def release(self) -> None:
        """Let go of the embedded PostgreSQL joined by `database_url`: the last user stops it."""
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None

    def postmasters(self) -> list[psutil.Process]:
        """Running `postgres` processes whose command line names this data dir."""
        found = []
        for proc in psutil.process_iter(["name", "cmdline"]):
            if proc.info["name"] == "postgres" and str(self.pgdata) in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        return found

    def postmasters_after_stop(self) -> list[psutil.Process]:
        """The postmasters still running once a short grace period for their shutdown has passed."""
        deadline = time.monotonic() + 5
        while (left := self.postmasters()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return left

    def logs(self) -> str:
        return "\n".join(server.explain() for server in self.servers)

    def postgres_log(self) -> str:
        log = self.pgdata / "log"
        return f"\n--- {log} ends:\n{log.read_text(errors='replace')[-3000:]}" if log.is_file() else ""

    def teardown(self, keep: bool = False) -> None:
        """Stop every child, then any postmaster left on the data dir; remove the dir unless `keep`."""
        for server in self.servers:
            server.kill()
        self.release()
        for proc in self.postmasters():
            proc.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
        _, alive = psutil.wait_procs(self.postmasters(), timeout=10)
        for proc in alive:
            proc.kill()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: the load generator stays lean.

    It shares the machine's two cores with the server and PostgreSQL; httpx spent ~20 ms of CPU on
    each 540 kB batch, a tenth of the whole budget, which tablets in the field spend on their own.
    """

    def __init__(self, url: str, token: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.head = f"Host: {url.removeprefix('http://')}\r\nAuthorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return await self.request("POST", path, body)

    async def get(self, path: str) -> tuple[int, bytes]:
        return await self.request("GET", path)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """Send one request and read its whole answer (by Content-Length or chunked); status and body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=2**20)
        assert self.reader is not None
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\n{self.head}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        self.writer.write(body)
        await self.writer.drain()
        status = int((await self.reader.readuntil(b"\r\n")).split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
            elif name.strip().lower() == "transfer-encoding":
                chunked = "chunked" in value.lower()
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        await self.reader.readuntil(b"\r\n")
        return status, b"".join(parts)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.reader = self.writer = None


def cpu_seconds(roots: list[int], descendants: bool = True) -> float | None:
    """CPU time (user + system) used so far by these processes (and their descendants); None off Linux."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, spent in times.items():
        node = pid
        while descendants and node and node not in roots:
            node = parents.get(node, 0)
        if node in roots:
            total += spent
    return total


def postgres_pids(instance: Instance) -> list[int]:
    """The embedded postmaster; else every process named postgres (a local server given by URL)."""
    if found := [p.pid for p in instance.postmasters()]:
        return found
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if (entry / "comm").read_text().strip() == "postgres":
                found.append(int(entry.name))
    return found


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank value at `q` (0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
