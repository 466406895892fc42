"""Demo channels: one SMS and one USSD channel on the `log` provider (nothing is ever sent), routed to
Linha Fala Criança. `seed_demo_channels()` is idempotent: it creates only what is missing."""

from __future__ import annotations

from amparo.core import audit
from amparo.core.models import Agency
from amparo.intake.models import Channel, ChannelKind
from amparo.intake.providers import create_channel

DEMO_CHANNELS = [
    {"name": "Demo SMS 1458", "kind": ChannelKind.SMS, "short_code": "1458"},
    {"name": "Demo USSD *458#", "kind": ChannelKind.USSD, "short_code": "*458#"},
]
LANGUAGES = ["pt", "en", "vmw", "ts", "seh", "ny"]


def seed_demo_channels() -> list[Channel]:
    """Create the demo channels that do not exist yet (matched by name); return all of them."""
    agency = Agency.objects.filter(code="linha-fala-crianca").first()
    actor = audit.Actor.system("demo")
    channels = []
    for spec in DEMO_CHANNELS:
        channel = Channel.objects.filter(name=spec["name"], kind=spec["kind"]).first()
        if channel is None:
            channel = create_channel(
                actor,
                name=spec["name"],
                kind=spec["kind"],
                provider="log",
                short_code=spec["short_code"],
                routing_agency=agency,
                languages=LANGUAGES,
            )
        channels.append(channel)
    return channels
