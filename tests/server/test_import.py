"""`loyalty import FILE.jsonl` run for real: orders and actions backfilled, idempotently."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from server import importing
from tests.server.processes import loyalty, serve

SECRETS = {
    "LOYALTY_SECRET_KEY": "import-test-secret-0123456789abcdef",
    "LOYALTY_ADMIN_KEY": "adm_import-test-admin-key-0123456789abcdef",
    "LOYALTY_INTEGRATION_KEY": "int_import-test-integration-key-0123456789",
}


@pytest.fixture
def shop(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite shop with an action type worth 10 points and two members."""
    env = {"LOYALTY_DATA_DIR": str(tmp_path / "data")} | SECRETS
    server = serve(env, tmp_path, "import")
    try:
        for document, token in (
            (
                'mutation { upsertActionType(input: {key: "review.posted", name: "Review",'
                " points: 10}) { errors { code } } }",
                SECRETS["LOYALTY_ADMIN_KEY"],
            ),
            *(
                (
                    f'mutation {{ enrollMember(input: {{externalId: "{m}", displayName: "{m}"}})'
                    " { errors { code } } }",
                    SECRETS["LOYALTY_INTEGRATION_KEY"],
                )
                for m in ("pos:1", "pos:2")
            ),
        ):
            done = server.gql(document, token)
            assert not done.get("errors") and not next(iter(done["data"].values()))["errors"]
    finally:
        server.stop()
    return env


def _lines(tmp_path: Path) -> Path:
    path = tmp_path / "backfill.jsonl"
    rows = [
        {"type": "order", "orderId": "HD-1", "memberExternalId": "pos:1", "amount": "250000"},
        {"type": "action", "actionType": "review.posted", "memberExternalId": "pos:1",
         "idempotencyKey": "rv-1", "occurredAt": "2026-01-15T09:00:00+07:00"},
        {"type": "action", "actionType": "review.posted", "memberExternalId": "pos:2",
         "idempotencyKey": "rv-1"},
        {"type": "action", "actionType": "nope.never", "memberExternalId": "pos:2",
         "idempotencyKey": "rv-2"},
        {"type": "order", "orderId": "HD-2", "memberExternalId": "ghost", "amount": "10000"},
    ]  # fmt: skip
    text = [json.dumps(r) for r in rows]
    text.insert(3, '{"type": "action", "actionType": ')  # line 4: not JSON
    text.insert(4, "")  # a blank line is skipped
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def test_import_applies_each_line_once_and_reports_refusals(
    shop: dict[str, str], tmp_path: Path
) -> None:
    # given a file of orders and actions, some of them bad
    path, errors = _lines(tmp_path), tmp_path / "refused.jsonl"
    # when it is imported
    first = loyalty("import", str(path), "--errors", str(errors), env=shop, cwd=tmp_path)
    # then the good lines are new, the bad ones refused with their line number and reason
    assert first.returncode == 1, first.stderr
    assert first.stdout.splitlines()[0] == (
        f"imported {path}: 6 lines, 3 new, 0 duplicate, 3 refused (orders: 1 new, 0 duplicate,"
        " 1 refused; actions: 2 new, 0 duplicate, 1 refused; unreadable lines: 1 refused)"
    )
    refused = [json.loads(line) for line in errors.read_text().splitlines()]
    assert [(r["line"], r["code"], r["field"]) for r in refused] == [
        (4, "INVALID_INPUT", None),
        (6, "NOT_FOUND", "input.type"),
        (7, "NOT_FOUND", "input.memberExternalId"),
    ]
    # and progress went to stderr as plain lines (not a terminal)
    assert first.stderr.splitlines()[0] == "importing backfill.jsonl..."
    assert "importing backfill.jsonl: 6/6 lines (100%)" in first.stderr
    database = Path(shop["LOYALTY_DATA_DIR"]) / "loyalty.sqlite3"
    with sqlite3.connect(database) as db:
        kinds = db.execute("SELECT action_type, COUNT(*) FROM game_action GROUP BY 1").fetchall()
        balances = db.execute(
            "SELECT m.external_id, a.balance FROM ledger_account a JOIN member m"
            " ON m.id = a.member_id WHERE a.kind = 'AVAILABLE' ORDER BY 1"
        ).fetchall()
    assert sorted(kinds) == [("order", 1), ("review.posted", 2)]
    assert balances == [("pos:1", 10 + 12), ("pos:2", 10)]  # 250,000 VND at 5% earns 12
    # when the same file is imported again
    again = loyalty("import", str(path), env=shop, cwd=tmp_path)
    # then every line applied before is a duplicate, and nothing changed
    assert again.returncode == 1
    assert again.stdout.splitlines()[0].startswith(
        f"imported {path}: 6 lines, 0 new, 3 duplicate, 3 refused"
    )
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*) FROM game_action").fetchone() == (3,)
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone() == (1,)


@pytest.mark.parametrize(
    "text",
    ['{"type": "action", "value": NaN}', "[" * 100_000, "[1]", '{"type": "refund"}', "{"],
)
def test_a_line_that_is_not_an_order_or_action_object_is_refused(text: str) -> None:
    # given a line of the import file that is not an order or action object
    line = importing.Line(9, text)
    # when it is parsed
    importing.parse(line)
    # then it is refused as INVALID_INPUT
    assert line.outcome == "refused"
    assert line.refusal is not None and line.refusal.code == "INVALID_INPUT"
