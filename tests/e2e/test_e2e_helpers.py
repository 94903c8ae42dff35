"""End to end: batches judged by `serve`'s helper processes (`survey_api.intake.pool`), as users run it.

The API tests judge batches inside the test's transaction; here the real command hands them to its
helpers, which commit on their own. Answers, problem documents and accounting must be the same, and
a helper that dies must cost no batch: it is answered 503 at worst, and sending it again is safe.
"""

from __future__ import annotations

import gzip
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import msgspec
import psutil

from benchmarks.harness import Instance, Server
from tests.e2e.fieldwork import API, auth, new_item, set_up


def helpers(server: Server) -> list[psutil.Process]:
    """The helper processes of one `serve`: its children started by multiprocessing's spawn."""
    found = []
    for child in psutil.Process(server.process.pid).children():
        if "spawn_main" in " ".join(child.cmdline()):
            found.append(child)
    return found


def push(api: httpx.Client, items: list[dict[str, Any]], **kw: Any) -> httpx.Response:
    return api.post(f"{API}/sync", json={"device_id": "tab-1", "submissions": items}, **kw)


def statuses(response: httpx.Response) -> list[str]:
    return [r["status"] for r in response.json()["results"]]


def started(instance: Instance, *extra: str) -> tuple[Server, str]:
    admin = instance.create_admin()
    server = instance.serve(*extra)
    server.wait_ready()
    _, volunteers = set_up(server, admin, 2)
    return server, volunteers[0]


def test_helpers_answer_batches_as_the_server_would(instance: Instance) -> None:
    server, volunteer = started(instance)
    assert len(helpers(server)) >= 1, server.explain()
    with httpx.Client(base_url=server.url, headers=auth(volunteer), timeout=30) as api:
        items = [new_item(), new_item(answers={"width_m": "wide"})]
        first = push(api, items)
        assert first.status_code == 200, server.explain(first)
        assert first.headers["content-type"].startswith("application/json")
        assert statuses(first) == ["accepted", "rejected"]
        assert first.json()["results"][1]["errors"][0]["loc"] == ["answers", "width_m"]

        # The same batch again, answered in MessagePack: nothing changes, the first results return.
        again = push(api, items, headers={"Accept": "application/msgpack"})
        assert again.status_code == 200, server.explain(again)
        assert again.headers["content-type"] == "application/msgpack"
        decoded = msgspec.msgpack.decode(again.content)
        assert [r["status"] for r in decoded["results"]] == ["duplicate", "duplicate"]
        assert decoded["results"][0]["record_id"] == first.json()["results"][0]["record_id"]
        assert decoded["results"][1]["errors"] == first.json()["results"][1]["errors"]

        empty = push(api, [])  # a tablet's ping: zero results and the server's time
        assert empty.status_code == 200, server.explain(empty)
        assert empty.json()["results"] == []
        assert empty.json()["server_time"]

        # Batch-level errors come back from the helper as problem documents with their statuses.
        too_many = api.post(
            f"{API}/sync",
            content=gzip.compress(msgspec.json.encode({"submissions": [{}] * 1001})),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        broken = api.post(
            f"{API}/sync", content=b'{"submissions": [', headers={"Content-Type": "application/json"}
        )
        for response, status in ((too_many, 413), (broken, 400)):
            assert response.status_code == status, server.explain(response)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == status

    assert server.failures() == [], server.log()


def test_a_helper_killed_between_batches_costs_no_batch(instance: Instance) -> None:
    server, volunteer = started(instance)
    with httpx.Client(base_url=server.url, headers=auth(volunteer), timeout=30) as api:
        before = push(api, [new_item()])
        assert before.status_code == 200, server.explain(before)

        victim = helpers(server)[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        items = [new_item() for _ in range(5)]
        answered = push(api, items)
        if answered.status_code == 503:  # the pool broke under this very batch: sent again, as a tablet does
            assert answered.headers["content-type"] == "application/problem+json"
            assert "Send it again" in answered.json()["detail"]
            answered = push(api, items)
        assert answered.status_code == 200, server.explain(answered)
        assert set(statuses(answered)) <= {"accepted", "duplicate"}

        deadline = time.monotonic() + 30
        while len(helpers(server)) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert victim.pid not in [h.pid for h in helpers(server)]
        later = push(api, [new_item()])
        assert statuses(later) == ["accepted"], server.explain(later)
    assert "a helper process stopped; starting new ones" in server.log()


def test_serve_without_helpers_judges_batches_itself(instance: Instance) -> None:
    instance.env["SURVEY_INTAKE_PROCESSES"] = "0"
    server, volunteer = started(instance)
    assert helpers(server) == []
    with httpx.Client(base_url=server.url, headers=auth(volunteer), timeout=30) as api:
        answered = push(api, [new_item(), new_item(version="never-published")])
        assert answered.status_code == 200, server.explain(answered)
        assert statuses(answered) == ["accepted", "rejected"]


def test_a_batch_whose_helper_dies_is_answered_503_and_can_be_sent_again(instance: Instance) -> None:
    server, volunteer = started(instance)
    stopped = helpers(server)
    for helper in stopped:  # frozen: the batch below waits for one of them, then they die under it
        helper.send_signal(signal.SIGSTOP)
    items = [new_item() for _ in range(5)]
    with (
        httpx.Client(base_url=server.url, headers=auth(volunteer), timeout=60) as api,
        ThreadPoolExecutor(1) as background,
    ):
        pending = background.submit(push, api, items)
        time.sleep(2)  # the request is read and handed to the pool long before this
        assert not pending.done()
        for helper in stopped:
            helper.send_signal(signal.SIGKILL)
        answered = pending.result(timeout=60)
        assert answered.status_code == 503, server.explain(answered)
        assert answered.headers["content-type"] == "application/problem+json"
        assert "Send it again" in answered.json()["detail"]

        again = push(api, items)
        assert again.status_code == 200, server.explain(again)
        assert statuses(again) == ["accepted"] * 5  # it never ran: nothing stored, nothing lost


def test_helpers_exit_when_the_server_is_killed_outright(instance: Instance) -> None:
    server, _ = started(instance)
    left = helpers(server)
    assert left, server.explain()
    server.process.kill()  # SIGKILL: no shutdown runs, nothing tells the helpers
    server.process.wait(10)
    _, alive = psutil.wait_procs(left, timeout=15)
    assert alive == [], f"helpers still running after their server was killed: {alive}"
