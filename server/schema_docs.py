"""The API reference a clone carries: the served schema as SDL, in docs/schema.graphql.

`loyalty export-schema` writes it; tests/server/test_schema_docs.py fails when the file
no longer matches the schema the server serves.
"""

from __future__ import annotations

from pathlib import Path

from gql.schema import schema

HEADER = (
    "# The GraphQL schema that `loyalty serve` serves, written by `loyalty export-schema`.\n"
    "# Do not edit: change the code and run the command again.\n\n"
)
DEFAULT = Path("docs") / "schema.graphql"


def export() -> str:
    return HEADER + schema.as_str().rstrip("\n") + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
