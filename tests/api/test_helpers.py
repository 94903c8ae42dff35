"""A helper's answers when a batch cannot be judged: a problem document, and a bug's trace for the log.

The helper runs in a thread of its own here (it owns an event loop, as in its process); its database
is an address where nothing listens, so what reaches the database fails as a connection would.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor

import msgspec

from survey_api.credentials import User
from survey_api.intake.pool import Helper, Reply
from survey_api.web import problems
from survey_api.web.access import ProjectAccess
from sync.batch import MAX_TEXT_BYTES

NOWHERE = "postgresql+asyncpg://survey@127.0.0.1:9/nowhere"  # the discard port: connection refused
ACCESS = ProjectAccess(
    id=uuid.uuid4(),
    slug="korat",
    name="Korat City Lab",
    timezone="Asia/Bangkok",
    area=None,
    role="volunteer",
    pii=False,
    user=User(id=uuid.uuid4(), email="v@example.org", name=None, admin=False, token_id=uuid.uuid4()),
)


def judged(body: bytes) -> Reply:
    def run() -> Reply:
        helper = Helper(NOWHERE, MAX_TEXT_BYTES)
        try:
            return helper.loop.run_until_complete(helper.push(ACCESS, body, "json", msgpack=False))
        finally:
            helper.loop.run_until_complete(helper.engine.dispose())
            helper.loop.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(run).result()


def test_a_batch_that_is_not_one_is_answered_with_its_problem_document():
    reply = judged(b'{"submissions": {"uuid": "a"}}')

    assert (reply.status, reply.media_type, reply.failure) == (400, problems.MEDIA_TYPE, None)
    document = msgspec.json.decode(reply.body)
    assert document["status"] == 400
    assert document["title"] == "Malformed batch"
    assert document["errors"][0]["code"] == "malformed_batch"


def test_an_unexpected_error_is_a_500_without_its_trace_and_the_trace_goes_to_the_log():
    body = msgspec.json.encode({"submissions": [{"uuid": "a", "form": "f", "version": "v1", "answers": {}}]})
    reply = judged(body)  # the batch parses; reading the published versions cannot connect

    assert (reply.status, reply.media_type) == (500, problems.MEDIA_TYPE)
    assert msgspec.json.decode(reply.body)["detail"] == problems.UNEXPECTED
    assert b"Traceback" not in reply.body
    assert reply.failure is not None
    assert "Traceback" in reply.failure
    assert "Connect" in reply.failure or "refused" in reply.failure
