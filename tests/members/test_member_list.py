"""The members list (admin): keyset pagination, search, the 100-item cap; and lookups."""

from __future__ import annotations

from core.settings import Settings
from members.models import Member
from tests import factories
from tests.conftest import INTEGRATION_KEY, Api

LIST = """
query($first: Int!, $after: String, $search: String) {
  members(first: $first, after: $after, search: $search) {
    totalCount
    edges { cursor node { externalId } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def page(api: Api, first: int, after: str | None = None, search: str | None = None) -> dict:
    data = await api.admin(LIST, {"first": first, "after": after, "search": search})
    return data["members"]


async def test_cursor_pagination_walks_every_member_once_in_enrolment_order(api: Api) -> None:
    # given seven members
    for n in range(7):
        await factories.member(external_id=f"page-{n}")
    # when an admin pages through three at a time
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        result = await page(api, 3, after)
        pages += 1
        assert result["totalCount"] == 7
        seen += [e["node"]["externalId"] for e in result["edges"]]
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
        assert after == result["edges"][-1]["cursor"]
    # then every member comes exactly once, in order, over three pages
    assert seen == [f"page-{n}" for n in range(7)]
    assert pages == 3


async def test_a_member_enrolled_while_paging_does_not_shift_the_pages(api: Api) -> None:
    # given four members, and the first page of two read
    for n in range(4):
        await factories.member(external_id=f"shift-{n}")
    first = await page(api, 2)
    # when a member enrols
    await factories.member(external_id="shift-late")
    # and the next page is read
    second = await page(api, 2, first["pageInfo"]["endCursor"])
    # then it is the members that came next before, unshifted
    assert [e["node"]["externalId"] for e in second["edges"]] == ["shift-2", "shift-3"]


async def test_search_matches_name_phone_email_and_external_id(api: Api) -> None:
    # given members with distinct names, phones and emails
    await factories.member(
        external_id="s-1", display_name="Nguyễn Thị Hoa", phone="0901234567", email="hoa@shop.vn"
    )
    await factories.member(
        external_id="s-2", display_name="Trần Văn Bình", phone="0987654321", email="binh@mail.vn"
    )
    await factories.member(external_id="s-3", display_name="Lê Hoàng Nam")

    async def found(term: str) -> list[str]:
        result = await page(api, 50, search=term)
        return sorted(e["node"]["externalId"] for e in result["edges"])

    # when each kind of term is searched for
    # then it finds its member
    assert await found("Hoa") == ["s-1"]
    assert await found("hoa") == ["s-1"]
    assert await found("Bình") == ["s-2"]
    assert await found("0987") == ["s-2"]
    assert await found("+84 901 234") == ["s-1"]
    assert await found("BINH@MAIL") == ["s-2"]
    assert await found("s-3") == ["s-3"]
    assert await found("nobody-like-this") == []
    assert (await page(api, 50, search="Hoa"))["totalCount"] == 1


async def test_first_over_100_is_invalid_input(api: Api) -> None:
    # given an admin
    # when they ask for more than 100 members a page
    body = await api.raw(LIST, {"first": 101}, token="test-admin-key")
    # then it is INVALID_INPUT naming first, with no data
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert body["errors"][0]["extensions"]["field"] == ["first"]
    assert (await page(api, 100))["totalCount"] == 0


async def test_a_foreign_cursor_is_invalid_input(api: Api) -> None:
    # given an admin
    # when they page with a cursor not made here
    body = await api.raw(LIST, {"first": 5, "after": "%%%not-a-cursor"}, token="test-admin-key")
    # then it is INVALID_INPUT naming the cursor
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert body["errors"][0]["extensions"]["field"] == ["after"]


async def test_the_list_is_for_admins(api: Api, settings: Settings) -> None:
    # given a member's token, the integration key, and no credential
    m = await factories.member()
    token = factories.token_for(m, settings)
    # when each asks for the member list
    for credential, code in ((INTEGRATION_KEY, "FORBIDDEN"), (token, "FORBIDDEN"), (None, None)):
        body = await api.raw(LIST, {"first": 5}, token=credential)
        # then each is refused, with no data
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == (code or "UNAUTHENTICATED")


async def test_staff_look_members_up_by_id_or_external_id(api: Api) -> None:
    # given a member
    m = await factories.member(external_id="look-1")
    query = "query($id: ID, $e: String) { member(id: $id, externalId: $e) { externalId } }"
    # when staff look them up by id and by externalId, and someone unknown
    by_id = await api.integration(query, {"id": str(m.id)})
    by_ext = await api.admin(query, {"e": "look-1"})
    missing = await api.integration(query, {"e": "nobody"})
    # then they find them both ways, and nobody for the unknown one
    assert by_id["member"] == by_ext["member"] == {"externalId": "look-1"}
    assert missing["member"] is None
    assert await Member.all().count() == 1
