"""The layer rule of docs/architecture.md holds, tests included, and the contracts that state it (the
`[tool.importlinter]` section of pyproject.toml, also run by `make test` as `lint-imports`) do fail on an
import that breaks it: one pointing up a layer, one to a sibling app not listed, Django in `lib`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from importlinter import api  # noqa: F401  (configures import-linter's adapters)
from importlinter.application import use_cases
from importlinter.application.app_config import settings as linter

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


class _WithExtraImports:
    """Import-linter's own graph builder, with imports added to the graph it builds (as if a module had
    them): what a contract says about an import is then checked, not assumed."""

    def __init__(self, real: Any, extra: list[tuple[str, str]]) -> None:
        self.real, self.extra = real, extra

    def build(self, **kwargs: Any) -> Any:
        graph = self.real.build(**kwargs)
        for importer, imported in self.extra:
            graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="import")
        return graph


def broken_contracts(extra: list[tuple[str, str]] = ()) -> set[str]:  # type: ignore[assignment]
    use_cases._register_built_in_contract_types()  # what `lint-imports` does first (idempotent)
    real = linter.GRAPH_BUILDER
    linter.configure(GRAPH_BUILDER=_WithExtraImports(real, list(extra)))
    try:
        report = use_cases.create_report(use_cases.read_user_options(str(PYPROJECT)), cache_dir=None)
    finally:
        linter.configure(GRAPH_BUILDER=real)
    assert not report.could_not_run, report.invalid_contract_options
    return {
        contract.contract_options["id"]
        for contract, check in report.get_contracts_and_checks()
        if not check.kept
    }


def test_every_layer_contract_is_kept_by_the_code_as_it_is() -> None:
    assert broken_contracts() == set()


@pytest.mark.parametrize(
    ("importer", "imported", "contract"),
    [
        ("amparo.core.views", "amparo.cases.permissions", "layers"),  # core reaching up to cases
        ("amparo.core.tests.test_policy", "amparo.cases.models", "layers"),  # tests are held to it too
        ("amparo.cases.dossier", "amparo.evidence.models", "layers"),
        ("amparo.lib.envelope", "amparo.core.crypto", "layers"),
        ("amparo.evidence.actions", "amparo.intake.models", "evidence-siblings"),
        ("amparo.sync.apps", "amparo.intake.actions", "sync-siblings"),
        ("amparo.observatory.compute", "amparo.outreach.models", "observatory-siblings"),
        ("amparo.outreach.views", "amparo.observatory.views", "outreach-siblings"),
        ("amparo.lib.envelope", "django.db", "lib-plain"),
        ("amparo.conftest", "amparo.cases.actions", "shared-fixtures"),
    ],
)
def test_an_import_against_the_layer_rule_breaks_a_contract(
    importer: str, imported: str, contract: str
) -> None:
    assert contract in broken_contracts([(importer, imported)])


def test_an_import_along_a_listed_arrow_breaks_nothing() -> None:
    assert broken_contracts([("amparo.sync.files", "amparo.evidence.models")]) == set()
