"""`amparo node register|revoke|list` on the national server; `amparo node init` on a district node."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amparo.core import audit
from amparo.core.models import District
from amparo.lib.env import env_str
from amparo.sync import actions
from amparo.sync.models import Node
from amparo.sync.protocol import ProtocolError

OPERATOR = audit.Actor.system("command:node")


class Command(BaseCommand):
    help = "Manage district nodes: register, revoke and list them (national server); init (district node)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        register = sub.add_parser("register", help="Create a node identity and write its credential once.")
        register.add_argument("--name", required=True)
        register.add_argument("--district", required=True, help="District P-code, e.g. MZ0701.")
        register.add_argument(
            "-o", "--output", required=True, help="File to write the credential to (must not exist)."
        )
        revoke = sub.add_parser("revoke", help="Revoke a node: it erases its case data on its next contact.")
        revoke.add_argument("name")
        listing = sub.add_parser("list", help="List the nodes.")
        listing.add_argument("--json", action="store_true")
        init = sub.add_parser("init", help="Set this installation up as a district node.")
        init.add_argument(
            "--upstream", required=True, help="The national server's address, e.g. https://amparo.gov.mz"
        )
        init.add_argument("--credential", required=True, help="The file `amparo node register` wrote.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, f"_{action}")(**options)
        except (ValidationError, ProtocolError) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc

    def _national(self) -> None:
        if settings.NODE_ROLE != "national":
            raise CommandError("This command runs on the national server (AMPARO_NODE_ROLE=national).")

    def _register(self, *, name: str, district: str, output: str, **_: Any) -> None:
        self._national()
        place = District.objects.filter(pk=district).first()
        if place is None:
            raise CommandError(
                f"No district has the code {district!r}; see the district codes in the admin or docs."
            )
        path = Path(output)
        if path.exists():
            raise CommandError(
                f"{path} exists already; give a new file name (a credential is written only once)."
            )
        node, credential = actions.register_node(OPERATOR, name=name, district=place)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(credential, handle, indent=2)
        self.stdout.write(
            f"Node {node.name} registered for district {place.pk} ({place.name}). Its credential is in {path}: "
            f"carry it to the node, run `amparo node init --upstream URL --credential {path}` there, then delete it."
        )

    def _revoke(self, *, name: str, **_: Any) -> None:
        self._national()
        node = Node.objects.filter(name=name).first()
        if node is None:
            raise CommandError(f"No node is named {name!r}; `amparo node list` shows them.")
        actions.revoke_node(OPERATOR, node)
        self.stdout.write(
            f"Node {name} revoked. It will erase its case data when it next contacts this server."
        )

    def _list(self, *, json: bool = False, **_: Any) -> None:  # noqa: A002
        self._national()
        rows = [
            {
                "name": n.name,
                "district": n.district_id,
                "registered": n.created_at.isoformat(),
                "last_contact": n.last_seen_at.isoformat() if n.last_seen_at else None,
                "revoked": n.revoked_at.isoformat() if n.revoked_at else None,
                "wiped": n.wiped_at.isoformat() if n.wiped_at else None,
            }
            for n in Node.objects.all()
        ]
        if json:
            import json as json_module

            self.stdout.write(json_module.dumps(rows, indent=2))
            return
        for row in rows:
            state = "revoked" if row["revoked"] else "active"
            self.stdout.write(
                f"{row['name']:<24} {row['district']:<8} {state:<8} last contact {row['last_contact'] or 'never'}"
            )

    def _init(self, *, upstream: str, credential: str, **_: Any) -> None:
        if settings.NODE_ROLE != "district":
            raise CommandError("Set AMPARO_NODE_ROLE=district on this machine first.")
        try:
            text = Path(credential).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {credential}: {exc.strerror}.") from exc
        exported = env_str("AMPARO_ORIGIN").strip()
        node_state = actions.init_node(
            OPERATOR, upstream=upstream, credential_text=text, exported_origin=exported
        )
        recorded = "" if exported else f" Its origin {node_state.origin} is recorded in {settings.DATA_DIR}."
        self.stdout.write(
            f"This installation is now node {node_state.name} (district {node_state.district_id}).{recorded} "
            "Run `amparo sync` to fetch its cases, then delete the credential file."
        )
