"""Reading `/metrics` in tests (the apps' own figures are tested in their apps)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "m" * 40
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def scrape(client) -> dict[tuple[str, tuple], float]:  # noqa: ANN001
    """Every sample of `/metrics`, keyed by name and sorted labels."""
    response = client.get("/metrics", **AUTH)
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]
