"""End to end: the real `survey-api` command on the embedded PostgreSQL, spoken to over a socket.

Each test gets a fresh `SURVEY_DATA_DIR` and no `SURVEY_DATABASE_URL`, as a new user on a laptop
would have. Every child process and any postmaster left on the data dir is killed in teardown.

The data dir is not under pytest's tmp_path: as root, pgserver runs PostgreSQL as the `pgserver`
user and opens the path's parents to it, and every pytest session that starts (another one on the
same machine, say) closes /tmp/pytest-of-root again, so PostgreSQL would lose its files mid-test.
Logs stay in tmp_path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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

    def __init__(self, instance: Instance, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = instance
        self.stderr = instance.logs_dir / f"{name}.stderr"
        with self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [*CLI, "serve", "--port", str(self.port)],
                env=instance.env,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")[-6000:]

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

    def serve(self) -> Server:
        server = Server(self, f"serve-{len(self.servers)}")
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


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    made = Instance(tmp_path)
    try:
        yield made
    finally:
        made.teardown()


def create_project(server: Server, admin: str, slug: str) -> None:
    with server.client(admin) as api:
        response = api.post("/api/v1/projects", json={"slug": slug, "name": "Sidewalk audit"})
        assert response.status_code == 201, server.explain(response)


def project_slugs(server: Server, token: str) -> list[str]:
    with server.client(token) as api:
        response = api.get("/api/v1/projects")
        assert response.status_code == 200, server.explain(response)
        return [p["slug"] for p in response.json()["items"]]


def test_user_create_prints_one_json_object(instance: Instance):
    done = instance.cli("user", "create", "admin@example.org", "--admin")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, f"stdout must be one JSON line, got {done.stdout!r}"
    created = json.loads(lines[0])
    assert set(created) == {"id", "email", "token"}
    assert created["email"] == "admin@example.org"
    assert created["token"]


def test_a_new_user_sets_up_a_project_and_a_volunteer(instance: Instance):
    admin = instance.create_admin()
    server = instance.serve()
    server.wait_ready()

    with server.client() as anyone:
        health = anyone.get("/health")
        assert health.status_code == 200, server.explain(health)
        assert health.json() == {"status": "ok", "database": "ok"}
        page = anyone.get("/schema")
        assert page.status_code == 200, server.explain(page)
        assert page.headers["content-type"].startswith("text/html")
        spec = anyone.get("/schema/openapi.json")
        assert spec.status_code == 200, server.explain(spec)
        assert spec.json()["info"]["title"] == "survey-api"

    create_project(server, admin, "sidewalks")
    with server.client(admin) as api:
        response = api.post("/api/v1/users", json={"email": "som@example.org", "name": "Som"})
        assert response.status_code == 201, server.explain(response)
        volunteer = response.json()
        response = api.put(
            f"/api/v1/projects/sidewalks/members/{volunteer['id']}", json={"role": "volunteer"}
        )
        assert response.status_code == 200, server.explain(response)

    with server.client(volunteer["token"]) as api:
        me = api.get("/api/v1/me")
        assert me.status_code == 200, server.explain(me)
        assert me.json()["projects"] == [{"slug": "sidewalks", "role": "volunteer", "pii": False}]


def test_data_survives_a_restart(instance: Instance):
    admin = instance.create_admin()
    first = instance.serve()
    first.wait_ready()
    create_project(first, admin, "trees")

    assert first.stop() == 0, first.explain()
    assert not instance.postmasters_after_stop(), f"postmaster left on {instance.pgdata}\n{first.explain()}"
    second = instance.serve()
    second.wait_ready()

    assert project_slugs(second, admin) == ["trees"], second.explain()


def test_sigterm_exits_zero_and_stops_postgres(instance: Instance):
    server = instance.serve()
    server.wait_ready()
    assert instance.postmasters(), f"no postmaster found for {instance.pgdata}\n{server.explain()}"

    code = server.stop()

    assert code == 0, f"serve exited with {code} on SIGTERM\n{server.explain()}"
    assert not instance.postmasters_after_stop(), f"postmaster left on {instance.pgdata}\n{server.explain()}"


def test_two_serves_on_one_data_dir_share_one_postgres(instance: Instance):
    admin = instance.create_admin()
    one = instance.serve()
    one.wait_ready()
    two = instance.serve()
    two.wait_ready()

    assert len(instance.postmasters()) == 1, instance.logs()
    create_project(one, admin, "drains")
    assert project_slugs(two, admin) == ["drains"], instance.logs()

    one.stop()
    with two.client() as anyone:
        health = anyone.get("/health")
    assert health.status_code == 200, two.explain(health)
    assert project_slugs(two, admin) == ["drains"], two.explain()


def test_the_last_serve_to_stop_stops_postgres(instance: Instance):
    one = instance.serve()
    one.wait_ready()
    two = instance.serve()
    two.wait_ready()

    codes = [one.stop(), two.stop()]

    assert codes == [0, 0], instance.logs()
    assert not instance.postmasters_after_stop(), f"postmaster left on {instance.pgdata}\n{instance.logs()}"


def test_serve_and_user_create_at_once_on_a_fresh_data_dir(instance: Instance):
    """Both start PostgreSQL and migrate the new database at the same moment; they must take turns."""
    server = instance.serve()
    created = instance.cli("user", "create", "admin@example.org", "--admin")
    server.wait_ready()

    assert created.returncode == 0, f"user create failed:\n{created.stderr}\n{server.explain()}"
    admin = json.loads(created.stdout)["token"]
    create_project(server, admin, "canals")
    assert project_slugs(server, admin) == ["canals"], server.explain()
