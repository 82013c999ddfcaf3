"""The helpers every schema area builds with (gql/types.py): rows to types, inputs to
domain data, payloads' errors, and the one ID parser's optional form."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from types import SimpleNamespace

import pytest
import strawberry

from core.errors import InvalidInput
from gql.types import Payload, from_input, from_row, row_field
from gql.validation import parse_id


@strawberry.enum
class Colour(Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Part:
    name: str


@strawberry.type
class Thing:
    model: strawberry.Private[object]
    id: strawberry.ID
    colour: Colour | None
    ratio: float
    tags: list[str]
    part: Part
    label: str = row_field("title")

    @strawberry.field
    def shout(self) -> str:
        return self.label.upper()


@strawberry.type
class ThingPayload(Payload):
    thing: Thing | None = None


@dataclass
class ThingData:
    name: str
    count: int = 0
    limit: int | None = 1
    tags: list[str] = field(default_factory=list)


def test_a_row_becomes_its_type_field_by_name() -> None:
    # given a row as storage keeps it
    row = SimpleNamespace(
        id=42,
        colour="BLUE",
        ratio=Decimal("1.5"),
        tags=None,
        part=SimpleNamespace(name="x"),
        title="t",
    )
    # when it becomes a Thing
    thing = from_row(Thing, row)
    # then each declared field holds the API's value, and the row stays for the resolvers
    assert thing.id == "42"
    assert thing.colour is Colour.BLUE
    assert thing.ratio == 1.5 and isinstance(thing.ratio, float)
    assert thing.tags == []
    assert thing.part == Part(name="x")
    assert thing.label == "t"
    assert thing.model is row


def test_given_values_win_and_no_row_is_no_type() -> None:
    # given a row whose colour is not stored
    row = SimpleNamespace(id=1, colour="", ratio=2, tags=["a"], part=Part(name="p"), title="t")
    # when it becomes a Thing with a label given
    thing = from_row(Thing, row, label="given")
    # then the label is the given one and an empty stored enum reads null
    assert thing.label == "given"
    assert thing.colour is None
    assert thing.tags == ["a"]
    assert from_row(Thing, None) is None


def test_payload_errors_are_the_last_field_and_empty_by_default() -> None:
    # given the payload type of a thing
    # when a payload is made without errors
    made = ThingPayload()
    # then its errors are empty and stand last among its fields
    assert made.errors == []
    names = [f.python_name for f in ThingPayload.__strawberry_definition__.fields]
    assert names == ["thing", "errors"]


def test_an_input_becomes_domain_data_field_by_name() -> None:
    # given an input that sent null for a field the domain cannot take null for
    sent = SimpleNamespace(name="n", count=None, limit=None, tags=None, extra="ignored")
    # when it becomes ThingData
    data = from_input(ThingData, sent)
    # then that field takes the domain's default, and a nullable one keeps its null
    assert data == ThingData(name="n", count=0, limit=None, tags=[])
    assert from_input(ThingData, sent, count=7).count == 7
    assert from_input(ThingData, None) is None


def test_an_optional_id_left_out_stays_none() -> None:
    # given an optional ID
    # when it is left out, or sent
    # then it stays None, or is parsed; sent empty it is refused naming the field
    assert parse_id(None, "input.segmentId") is None
    assert parse_id("12", "input.segmentId") == 12
    with pytest.raises(InvalidInput) as refused:
        parse_id("", "input.segmentId")
    assert refused.value.field == ["input", "segmentId"]
