"""Property: whatever XML a client POSTs as a submission, the answer is an OpenRosa document, never a 500.

Instances are drawn from hostile shapes: any text (every Unicode plane, control characters) in any
answer, elements the form does not have, repeats and groups out of place, deep nesting, attributes
and namespaces, odd ids, and raw bytes that are not XML at all. Each answer must be 201 (stored,
perhaps in the quarantine), 202 (a resend), 409 (a reused id with other content) or 400 (not a
form instance), always as XML with `X-OpenRosa-Version: 1.0`; and every 201 must be findable: as a
record or in the quarantine (its attachment list answers).
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import pytest
from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.openrosa import SHOPS, publish_shops

pytestmark = pytest.mark.asyncio(loop_scope="session")

# XML 1.0 cannot carry most control characters at all: those make the document not well-formed (400).
texts = st.text(st.characters(codec="utf-8"), max_size=40)
names = st.one_of(
    st.sampled_from(
        ["shop_name", "place", "location", "goods", "seats", "staff", "role", "meta", "frontage"]
    ),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True),
)


@st.composite
def elements(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(names)
    attrs = draw(st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), texts, max_size=2))
    attributes = "".join(f" {key}={quoteattr(value)}" for key, value in attrs.items())
    if depth < 3 and draw(st.booleans()):
        inner = "".join(draw(st.lists(elements(depth + 1), max_size=4)))
    else:
        inner = escape(draw(texts))
    return f"<{name}{attributes}>{inner}</{name}>"


@st.composite
def instances(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["instance", "instance", "instance", "deep", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    form_id = draw(st.one_of(st.just("shops"), texts))
    version = draw(st.one_of(st.just(SHOPS["version"]), texts))
    instance_id = draw(st.one_of(st.just(f"uuid:{uuid.uuid4()}"), texts))
    body = "".join(draw(st.lists(elements(), max_size=6)))
    if kind == "deep":
        levels = draw(st.integers(min_value=50, max_value=3000))
        body += "<place>" * levels + "</place>" * levels
    meta = f"<meta><instanceID>{escape(instance_id)}</instanceID></meta>"
    return (
        f'<?xml version="1.0"?><shops id={quoteattr(form_id)} version={quoteattr(version)} '
        f'xmlns:orx="http://openrosa.org/xforms">{body}{meta}</shops>'
    ).encode("utf-8", "surrogatepass")


@pytest.fixture
async def tablet(client: AsyncClient, member: Any) -> tuple[Any, str]:
    return await publish_shops(client, member)


PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(xml=instances())
async def test_any_xml_is_answered_as_openrosa(client: AsyncClient, tablet: Any, xml: bytes) -> None:
    coordinator, root = tablet
    sent = await client.post(
        f"{root}/submission", files=[("xml_submission_file", ("submission.xml", xml, "text/xml"))]
    )
    assert sent.status_code in (201, 202, 400, 409), sent.text
    assert sent.headers["x-openrosa-version"] == "1.0"
    assert sent.headers["content-type"] == "text/xml; charset=utf-8"
    message = ET.fromstring(sent.content).find("{http://openrosa.org/http/response}message")
    assert message is not None and (message.text or "").strip()
    if sent.status_code == 201:  # stored under its instance id, as a record or in the quarantine
        instance_id = (ET.fromstring(xml).findtext("meta/instanceID") or "").strip().removeprefix("uuid:")
        logged = await client.get(
            f"/api/v1/projects/korat/submissions/{quote(instance_id, safe='')}/attachments",
            headers=coordinator.headers,
        )
        assert logged.status_code == 200, logged.text
