"""The served schema honours ../shared/contract/loyalty.graphql (check_contract.py's logic).

PENDING lists contract types and root fields that open issues still add; it only shrinks.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from gql.schema import schema

CHECKER = Path(__file__).resolve().parents[1].parent / "shared" / "contract" / "check_contract.py"

pytestmark = pytest.mark.skipif(
    not CHECKER.exists(), reason="shared/contract is not beside this checkout"
)

PENDING: set[str] = set()


def _checker():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("check_contract", CHECKER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_served_schema_is_a_superset_of_the_contract() -> None:
    """Given the contract, when the served schema is checked against it, then nothing the
    contract has is missing but what PENDING lists."""
    problems = _checker().breaking_changes(schema.as_str())
    unexpected = [p for p in problems if _name(p) not in PENDING]
    assert not unexpected, "\n".join(unexpected)


def test_pending_list_only_names_what_is_still_missing() -> None:
    """Given PENDING, when the served schema is checked against the contract, then everything
    PENDING lists is still missing: a served one must leave the list."""
    missing = {_name(p) for p in _checker().breaking_changes(schema.as_str())}
    done = PENDING - missing
    assert not done, f"remove from PENDING, now served: {sorted(done)}"


def _name(problem: str) -> str:
    """'Member.tier', 'Tier' or 'MemberEvent|TierChanged' for one breaking change line."""
    kind, _, text = problem.partition(": ")
    words = text.split()
    if kind == "TYPE_REMOVED_FROM_UNION":
        return f"MemberEvent|{words[0]}"
    if kind == "FIELD_REMOVED":
        return words[1]
    return words[0]
