"""One pagination block for every list: its links keep the list's filters and change only the page."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation


def _render(path: str, number: int) -> str:
    request = RequestFactory().get(path)
    page = Paginator(range(50), 10).get_page(number)
    with translation.override("en"):
        return render_to_string("core/pagination.html", {"page": page}, request=request)


def test_links_keep_the_filters_and_change_only_the_page() -> None:
    html = _render("/cases/overdue/?person=7&page=2", 2)
    assert 'href="?person=7&amp;page=1"' in html
    assert 'href="?person=7&amp;page=3"' in html
    assert "Page 2 of 5" in html


def test_the_first_page_has_no_previous_link_and_a_single_page_has_no_block() -> None:
    assert "Previous page" not in _render("/cases/", 1)
    request = RequestFactory().get("/cases/")
    single = Paginator(range(3), 10).get_page(1)
    assert render_to_string("core/pagination.html", {"page": single}, request=request).strip() == ""
