"""docs/schema.graphql is the schema the server serves: the test fails when it is stale."""

from __future__ import annotations

from pathlib import Path

from server import schema_docs
from tests.server.processes import loyalty

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "schema.graphql"


def test_docs_schema_graphql_is_the_served_schema() -> None:
    # given docs/schema.graphql
    written = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    # when it is compared with the served schema
    # then they are the same
    assert written == schema_docs.export(), (
        "docs/schema.graphql is stale: run `.venv/bin/loyalty export-schema` and commit it"
    )
    assert "type LeaderboardEntry" in written and "type Mutation" in written


def test_export_schema_writes_the_file_without_a_database(tmp_path: Path) -> None:
    # given no database or Redis configured at all (the command needs neither)
    target = tmp_path / "out" / "schema.graphql"
    # when the schema is exported
    result = loyalty(
        "export-schema",
        "--output",
        str(target),
        env={"LOYALTY_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},
        cwd=tmp_path,
    )
    # then the file is written, and is the served schema
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote the schema to {target} (")
    assert target.read_text(encoding="utf-8") == schema_docs.export()
