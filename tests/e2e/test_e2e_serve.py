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

from benchmarks.harness import Instance, Server


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


def test_several_workers_serve_one_port_and_stop_together(instance: Instance):
    admin = instance.create_admin()
    server = instance.serve("--workers", "2")
    server.wait_ready()
    create_project(server, admin, "workers")
    for _ in range(6):  # whichever worker answers sees the same database
        assert project_slugs(server, admin) == ["workers"]

    assert server.stop() == 0, server.explain()
    assert not instance.postmasters_after_stop(), f"postmaster left on {instance.pgdata}\n{server.explain()}"
