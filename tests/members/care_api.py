"""GraphQL documents and helpers shared by the member care tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

BY_CARD = (
    """query($c: String!) { memberByCard(cardCode: $c) { externalId displayName cardCode } }"""
)
ME = "{ me { externalId displayName email phone birthday gender city cardCode } }"
MEMBER = """query($e: String!) { member(externalId: $e) {
  externalId displayName email phone birthday gender city cardCode } }"""
UPDATE = """mutation($i: UpdateMemberInput!) { updateMember(input: $i) {
  member { externalId displayName email phone birthday gender city }
  errors { code field message } } }"""
CONSENTS_OF = """query($e: String!) { member(externalId: $e) {
  consents { channel granted updatedAt } } }"""
MY_CONSENTS = "{ me { consents { channel granted updatedAt } } }"
SET_CONSENTS = """mutation($e: String, $c: [ConsentInput!]!) {
  setConsents(memberExternalId: $e, consents: $c) {
    member { externalId consents { channel granted updatedAt } }
    errors { code field message } } }"""
HISTORY = """query($e: String!, $f: Int!, $a: String, $k: [CareEventKind!]) {
  member(externalId: $e) { careHistory(first: $f, after: $a, kinds: $k) {
    edges { cursor node { kind at summary data } } pageInfo { hasNextPage endCursor } } } }"""
TIER_STATUS = """query($e: String!) { member(externalId: $e) {
  tier { code } tierPoints tierGraceUntil tierStatus { atRisk pointsToKeep reviewAt } } }"""
NPS_OF = """query($e: String!, $f: Int!) { member(externalId: $e) {
  npsResponses(first: $f) { score comment createdAt } } }"""
ERASE = """mutation($e: String!) { eraseMember(memberExternalId: $e) {
  erased errors { code field message } } }"""
EXPORT = """mutation($e: String) { exportMemberData(memberExternalId: $e) {
  data errors { code field message } } }"""


async def update(api: Api, token: str, **fields: Any) -> dict[str, Any]:
    return (await api(UPDATE, {"i": fields}, token=token))["updateMember"]  # type: ignore[no-any-return]


async def history(
    api: Api, external_id: str, first: int = 50, after: str | None = None, kinds: Any = None
) -> dict[str, Any]:
    variables = {"e": external_id, "f": first, "a": after, "k": kinds}
    return (await api.integration(HISTORY, variables))["member"]["careHistory"]  # type: ignore[no-any-return]
