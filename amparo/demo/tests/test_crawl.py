"""Every page a demo user can reach by following links, and every public page, rendered without a
server error and without a Python repr leaking into the page (a tuple, a dict, an object's address).

The crawl starts at each role's home (and at `/` for the public), follows same-site links, and visits
at most two pages of each URL shape (case references, ids and query values folded), so that it covers
every kind of page the demo offers without visiting every case.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, deque
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from amparo.core.models import User
from amparo.core.roles import Role

TODAY = dt.date(2026, 6, 30)
PER_SHAPE = 2
MAX_PAGES = 80  # per role; the demo's link graph is smaller than this at PER_SHAPE

# What a Python repr looks like once Django has escaped it into HTML.
Q = r"(?:&#x27;|&quot;|'|\")"
REPRS = [
    re.compile(rf"\({Q}[^()<>]{{0,80}}{Q}, "),  # ('a', 'b')
    re.compile(rf"\{{{Q}[^{{}}<>]{{0,80}}{Q}: "),  # {'a': 1}
    re.compile(rf"\[{Q}[^\[\]<>]{{0,80}}{Q}, {Q}"),  # ['a', 'b']
    re.compile(r"(?:&lt;|<)[\w.]+ object at 0x[0-9a-f]+"),  # <Foo object at 0x7f…>
    re.compile(r"(?:&lt;|<)(?:QuerySet|Model|function|bound method)\b"),
    re.compile(r"\b(?:datetime\.date|Decimal|UUID)\("),
]
SKIP = re.compile(
    r"^/(?:static|accounts/logout|i18n|admin/(?:logout|jsi18n))|\.(?:pdf|csv|json|png|svg|zip)(?:\?|$)|/download/|/export"
)
TAGS = re.compile(r"<script\b.*?</script>|<[^>]+>", re.S)
LINK = re.compile(r'<a\b[^>]*\bhref="(/[^"#]*)"')


def shape(url: str) -> str:
    path, _, query = url.partition("?")
    path = re.sub(r"AMP-[A-Z0-9-]+", "AMP-*", path)
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27,}", "/<uuid>", path)
    path = re.sub(r"/\d+", "/<n>", path)
    keys = sorted(k.split("=", 1)[0] for k in query.split("&") if k)
    return path + ("?" + "&".join(keys) if keys else "")


def crawl(client: Client, start: str) -> dict[str, int]:
    """Visit pages reachable from `start`; return status per URL. Fails on a repr in any page."""
    seen_shapes: Counter[str] = Counter()
    visited: dict[str, int] = {}
    queue = deque([start])
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft().replace("&amp;", "&")
        if url in visited or SKIP.search(url) or seen_shapes[shape(url)] >= PER_SHAPE:
            continue
        seen_shapes[shape(url)] += 1
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="pt")
        visited[url] = response.status_code
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        text = TAGS.sub(" ", html)  # what a person reads (attributes may carry JSON on purpose)
        for pattern in REPRS:
            found = pattern.search(text)
            assert found is None, (
                f"{url} shows a Python repr: {text[max(found.start() - 80, 0) : found.end() + 80]!r}"
            )
        queue.extend(LINK.findall(html))
    return visited


@pytest.fixture
def demo(settings) -> None:  # noqa: ANN001
    settings.DEMO = True
    call_command(
        "seed_demo", "--cases=40", f"--today={TODAY.isoformat()}", stdout=StringIO(), stderr=StringIO()
    )


@pytest.mark.django_db
def test_public_pages_reachable_from_the_front_door_render_without_errors_or_reprs(demo):  # noqa: ANN001
    visited = crawl(Client(), "/")
    assert {"/", "/report/", "/report/follow-up/", "/safe-online/"} <= set(visited)
    assert all(status < 500 for status in visited.values()), visited


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(Role.values))
def test_every_page_a_demo_role_can_reach_renders_without_errors_or_reprs(demo, role):  # noqa: ANN001
    user = next(u for u in User.objects.filter(is_demo=True).order_by("username") if role in u.roles)
    client = Client()
    client.force_login(user)
    visited = crawl(client, "/staff/")
    assert len(visited) > 1, f"{role}: the home page offers no link"
    broken = {url: status for url, status in visited.items() if status >= 400}
    # A link offered to a user leads somewhere they may go.
    assert not broken, f"{role}: {broken}"
