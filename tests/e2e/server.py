"""The real `survey-api` command as a child process, for end-to-end tests that talk to it over a socket."""

from __future__ import annotations

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
from pathlib import Path

import httpx
import psutil
import pytest

CLI = [sys.executable, "-m", "survey_api.cli"]
STARTUP_DEADLINE_S = 60.0
STOP_DEADLINE_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One `survey-api serve` child, its port and its captured output."""

    def __init__(self, instance: Instance, name: str, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = instance
        self.stderr = instance.logs_dir / f"{name}.stderr"
        with self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [*CLI, "serve", "--port", str(self.port), *extra],
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

    def wait_ready(self) -> None:
        """Poll /health until 200; fail at once, with the log, if the process dies first."""
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"serve exited with {self.process.returncode} before answering\n{self.explain()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"serve did not answer /health within {STARTUP_DEADLINE_S} s\n{self.explain()}")

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)

    def stop(self) -> int:
        """SIGTERM, as systemd or `docker stop` would send, and the exit code."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve ignored SIGTERM for {STOP_DEADLINE_S} s\n{self.explain()}")

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
    """A data dir and the environment of a user who has set nothing but `SURVEY_DATA_DIR`."""

    def __init__(self, logs_dir: Path) -> None:
        self.logs_dir = logs_dir
        self.root = Path(tempfile.mkdtemp(prefix="survey-e2e-")).resolve()
        self.pgdata = self.root / "data" / "pg"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
        self.env["SURVEY_DATA_DIR"] = str(self.root / "data")
        self.servers: list[Server] = []

    def serve(self, *extra: str) -> Server:
        server = Server(self, f"serve-{len(self.servers)}", *extra)
        self.servers.append(server)
        return server

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], env=self.env, capture_output=True, text=True, timeout=STARTUP_DEADLINE_S
        )

    def create_admin(self, email: str = "admin@example.org") -> str:
        done = self.cli("user", "create", email, "--admin")
        assert done.returncode == 0, (
            f"user create failed ({done.returncode}):\n{done.stderr}{self.postgres_log()}"
        )
        return json.loads(done.stdout)["token"]

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

    def teardown(self) -> None:
        for server in self.servers:
            server.kill()
        for proc in self.postmasters():
            proc.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
        _, alive = psutil.wait_procs(self.postmasters(), timeout=10)
        for proc in alive:
            proc.kill()
        shutil.rmtree(self.root, ignore_errors=True)
