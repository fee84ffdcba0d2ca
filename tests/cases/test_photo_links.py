"""Photos as fields with signed links (issue #25): ``Case.photos`` and ``CaseTimelineEntry.photos`` give
each photo's id, type, size and dimensions, and ``url`` / ``thumbnailUrl`` that an ``<image>`` tag loads
without an Authorization header — signed for the tenant, the photo and the reader, short-lived, and
re-checked against the reader's right to the case when used.

Every test builds its own app whose ``upload_dir`` is the test's tmp_path; the app's clock is fixed
where expiry matters.

Sections: the fields · a link without a header · what a link does not open · expiry and settings.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from PIL import Image
from sqlalchemy import update

from gongzhi.http.preflight import ConfigError, photo_link_key, preflight
from gongzhi.settings import Settings
from models import RoleAssignment, sealing, uuid7
from resolvers.ids import decode_global_id
from resolvers.photo_links import LinkRefused, PhotoLinks, Variant, derive_key
from tenants.session import bind_tenant
from tests.support.cases import accept, add_resident, call, dispatch_firm, ok, report, start
from tests.support.harness import DbEnv, World
from tests.support.photos import (
    PhotoApp,
    assert_no_metadata,
    case_photos,
    code_of,
    gps_jpeg,
    make_api,
    png,
    texty_png,
    upload,
    uploaded,
)
from tests.support.world import TenantWorld

NOW = datetime(2026, 12, 1, 2, 0, 3, tzinfo=UTC)


@pytest.fixture
async def app(db: DbEnv, tmp_path: Path) -> AsyncIterator[PhotoApp]:
    client, photo_app = make_api(db, tmp_path)
    set_clock(photo_app, NOW)
    async with client:
        yield photo_app


def set_clock(app: PhotoApp, when: datetime) -> None:
    app.state.clock = lambda: when


async def get(app: PhotoApp, url: str) -> Any:
    """An <image> tag's request: the URL, no header at all."""
    return await app.client.get(url)


def with_params(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    params.update(changes)
    return f"{parts.path}?{urlencode(params)}"


def with_path_id(url: str, photo_id: str) -> str:
    parts = urlsplit(url)
    segments = parts.path.split("/")
    segments[2] = photo_id
    return f"{'/'.join(segments)}?{parts.query}"


async def photo_case(app: PhotoApp, tw: TenantWorld) -> tuple[dict[str, Any], list[str]]:
    """A resident's case with two photos (a GPS JPEG, a PNG), handled by the firm, resolved with a third."""
    api = app.api
    mine = [await uploaded(api, tw, "resident", gps_jpeg(2400, 1800)), await uploaded(api, tw, "resident", texty_png())]
    case = await report(api, tw, "resident", "B1", title="污水外溢", category="drainage", photoIds=mine)
    case = await start(api, tw, await dispatch_firm(api, tw, await accept(api, tw, case)))
    firm = await uploaded(api, tw, "firm", png(colour=b"\x10\x20\x30"))
    ok(await call(api, tw, "firm", "resolveCase", id=case["id"], resolution="已疏通", photoIds=[firm]))
    return case, [*mine, firm]


async def links(app: PhotoApp, tw: TenantWorld, user: str, case_id: str) -> dict[str, Any]:
    seen = await case_photos(app.api, tw, user, case_id)
    assert seen is not None, user
    return seen


# ---------------------------------------------------------------------------------------------- the fields


async def test_case_photos_give_each_photo_with_its_links(app: PhotoApp, fresh: World) -> None:
    tw = fresh.a
    case, photos = await photo_case(app, tw)
    seen = await links(app, tw, "resident", case["id"])
    got = seen["photos"]
    assert [p["id"] for p in got] == photos  # oldest first: the report's, then the resolution's
    assert [(p["contentType"], p["width"], p["height"]) for p in got] == [
        ("image/jpeg", 2048, 1536), ("image/png", 64, 48), ("image/png", 1, 1)]
    assert all(p["size"] > 0 for p in got)
    expires = datetime.fromisoformat(got[0]["urlsExpireAt"])
    assert NOW + timedelta(seconds=300) < expires <= NOW + timedelta(seconds=600)
    for p in got:
        full, thumb = urlsplit(p["url"]), urlsplit(p["thumbnailUrl"])
        assert (full.path, thumb.path) == (f"/uploads/{p['id']}", f"/uploads/{p['id']}/thumbnail")
        params = dict(parse_qsl(full.query))
        assert (params["tenant"], params["reader"], int(params["expires"])) == (
            tw.slug, tw.users["resident"].hex, int(expires.timestamp()))
    # Each step lists its own photos with the same links.
    steps = {e["action"]: e for e in seen["timeline"]}
    assert [p["id"] for p in steps["report"]["photos"]] == photos[:2] == steps["report"]["attachmentIds"]
    assert [p["url"] for p in steps["resolve"]["photos"]] == [got[2]["url"]]
    assert steps["accept"]["photos"] == []
    # Links are issued per reader: the firm's name the firm.
    firm_links = (await links(app, tw, "firm", case["id"]))["photos"]
    assert [p["id"] for p in firm_links] == photos
    assert dict(parse_qsl(urlsplit(firm_links[0]["url"]).query))["reader"] == tw.users["firm"].hex


async def test_the_upload_answer_carries_links_for_its_uploader(app: PhotoApp, fresh: World) -> None:
    tw = fresh.a
    r = await upload(app.api, tw, "resident", gps_jpeg(640, 480), "a.jpg", "image/jpeg")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (640, 480)
    for key in ("url", "thumbnailUrl"):
        served = await get(app, body[key])
        assert served.status_code == 200, served.text
        assert_no_metadata(served.content)
    # Before it belongs to a case, a link is no use to anyone but the uploader (see below).


# ---------------------------------------------------------------------------------------------- without a header


async def test_a_photo_link_works_without_any_header(app: PhotoApp, fresh: World) -> None:
    tw = fresh.a
    case, photos = await photo_case(app, tw)
    for user in ("resident", "grid1", "firm", "admin"):
        got = (await links(app, tw, user, case["id"]))["photos"]
        assert [p["id"] for p in got] == photos, user
        for p in got:
            full = await get(app, p["url"])
            assert full.status_code == 200, (user, full.text)
            with_token = await app.client.get(f"/uploads/{p['id']}",
                                              headers={"authorization": f"Bearer {app.api.token(tw, user)}"})
            assert full.content == with_token.content
            assert full.headers["content-type"] == p["contentType"]
            assert full.headers["cache-control"].startswith("private, max-age=")
            assert 0 < int(full.headers["cache-control"].rsplit("=", 1)[1]) <= 600
            assert full.headers["x-content-type-options"] == "nosniff"
            im = assert_no_metadata(full.content)
            assert (im.width, im.height) == (p["width"], p["height"])
            thumb = await get(app, p["thumbnailUrl"])
            assert thumb.status_code == 200, (user, thumb.text)
            small = Image.open(io.BytesIO(thumb.content))
            assert max(small.size) == min(320, max(im.size)) and small.format == im.format


# ------------------------------------------------------------------------------------------ what a link does not open


async def test_a_link_stops_working_for_another_tenant(app: PhotoApp, fresh: World) -> None:
    a, b = fresh.a, fresh.b
    case, _ = await photo_case(app, a)
    link = (await links(app, a, "resident", case["id"]))["photos"][0]
    other_case, _ = await photo_case(app, b)
    other = (await links(app, b, "resident", other_case["id"]))["photos"][0]
    assert (await get(app, link["url"])).status_code == 200
    refused = [
        with_params(link["url"], tenant=b.slug),           # the tenant changed
        with_path_id(link["url"], other["id"]),            # another tenant's photo under this tenant's link
        with_params(with_path_id(link["url"], other["id"]), tenant=b.slug),  # both
        with_path_id(other["url"], link["id"]),            # the other way round
    ]
    for url in refused:
        r = await get(app, url)
        assert (r.status_code, code_of(r)) == (403, "FORBIDDEN"), url
        assert r.json()["errors"][0]["extensions"]["reason"] == "invalid"
    # A link of the thumbnail does not open the full size (the variant is signed too).
    thumb_as_full = link["thumbnailUrl"].replace("/thumbnail?", "?")
    assert (await get(app, thumb_as_full)).status_code == 403


async def test_a_link_is_bound_to_its_reader(app: PhotoApp, db: DbEnv, fresh: World) -> None:
    """A reader who cannot see the case in full is never issued a link; one forged for them, or a
    link changed to name them, fails; a reader who loses the right loses the link."""
    tw = fresh.a
    await add_resident(db, tw, "neighbour", "P1", "h2a")  # the problem wall shows them the case
    case, photos = await photo_case(app, tw)
    for user in ("neighbour", "resident4", "grid2"):
        seen = await case_photos(app.api, tw, user, case["id"])
        assert seen is None or seen["photos"] == [], user  # not issued
    mine = (await links(app, tw, "resident", case["id"]))["photos"][0]
    # The resident's link, changed to name the neighbour (a forgery without the key).
    r = await get(app, with_params(mine["url"], reader=tw.users["neighbour"].hex))
    assert (r.status_code, r.json()["errors"][0]["extensions"]["reason"]) == (403, "invalid")
    # A link for the neighbour signed with a key that is not the server's.
    attachment = decode_global_id(photos[0], "Attachment")[1]
    forged = PhotoLinks(key=derive_key("not the server's secret")).url(
        tenant=tw.slug, attachment_id=attachment, variant=Variant.FULL, reader=tw.users["neighbour"], client=None,
        now=NOW)
    assert (await get(app, forged)).status_code == 403
    for bad in ({"sig": "A" * 22}, {"sig": ""}, {"expires": "not-a-time"}, {"reader": "nobody"}):
        assert (await get(app, with_params(mine["url"], **bad))).status_code == 403, bad
    # Signed with the server's own key for the neighbour (as if it had been issued): the download
    # still applies the rule, and the neighbour may not see the photo.
    real = app.state.photo_links.url(tenant=tw.slug, attachment_id=attachment, variant=Variant.FULL,
                                     reader=tw.users["neighbour"], client=None, now=NOW)
    r = await get(app, real)
    assert (r.status_code, code_of(r)) == (404, "NOT_FOUND")
    # grid1's link works until grid1's role ends.
    grid_link = (await links(app, tw, "grid1", case["id"]))["photos"][0]["url"]
    assert (await get(app, grid_link)).status_code == 200
    async with db.sessionmaker() as s:
        bind_tenant(s, tw.tenant_id)
        async with s.begin():
            await s.execute(update(RoleAssignment).where(RoleAssignment.user_id == tw.users["grid1"])
                            .values(valid_until=NOW - timedelta(days=1)))
    r = await get(app, grid_link)
    assert (r.status_code, code_of(r)) == (404, "NOT_FOUND")


async def test_an_unattached_photos_link_opens_for_its_uploader_only(app: PhotoApp, fresh: World) -> None:
    tw = fresh.a
    body = (await upload(app.api, tw, "grid1", png(), "p.png", "image/png")).json()
    assert (await get(app, body["url"])).status_code == 200
    attachment = decode_global_id(body["id"], "Attachment")[1]
    for user in ("admin", "grid2"):
        url = app.state.photo_links.url(tenant=tw.slug, attachment_id=attachment, variant=Variant.FULL,
                                        reader=tw.users[user], client=None, now=NOW)
        assert (await get(app, url)).status_code == 404, user


# ---------------------------------------------------------------------------------------------- expiry, settings


async def test_a_link_expires(app: PhotoApp, fresh: World) -> None:
    tw = fresh.a
    case, _ = await photo_case(app, tw)
    p = (await links(app, tw, "resident", case["id"]))["photos"][0]
    expires = datetime.fromisoformat(p["urlsExpireAt"])
    set_clock(app, expires - timedelta(seconds=1))
    r = await get(app, p["url"])
    assert r.status_code == 200
    assert r.headers["cache-control"] == "private, max-age=1"
    for later in (expires, expires + timedelta(days=3)):
        set_clock(app, later)
        r = await get(app, p["url"])
        assert (r.status_code, code_of(r)) == (403, "FORBIDDEN"), later
        assert r.json()["errors"][0]["extensions"]["reason"] == "expired"
        assert "过期" in r.json()["errors"][0]["message"]
        assert (await get(app, p["thumbnailUrl"])).status_code == 403
    # A later expiry written into the link breaks its signature.
    r = await get(app, with_params(p["url"], expires=str(int((expires + timedelta(days=3)).timestamp()) + 60)))
    assert (r.status_code, r.json()["errors"][0]["extensions"]["reason"]) == (403, "invalid")
    # Asked again, the case gives fresh links that work.
    fresh_link = (await links(app, tw, "resident", case["id"]))["photos"][0]
    assert fresh_link["url"] != p["url"]
    assert (await get(app, fresh_link["url"])).status_code == 200


async def test_links_are_stable_within_a_window_and_follow_the_settings(db: DbEnv, fresh: World,
                                                                         tmp_path: Path) -> None:
    tw = fresh.a
    client, app = make_api(db, tmp_path, photo_url_ttl=60, public_url="https://api.example.org/")
    set_clock(app, NOW)
    async with client:
        case, _ = await photo_case(app, tw)
        first = (await links(app, tw, "resident", case["id"]))["photos"][0]
        assert first["url"].startswith(f"https://api.example.org/uploads/{first['id']}?")
        expires = datetime.fromisoformat(first["urlsExpireAt"])
        assert NOW + timedelta(seconds=30) < expires <= NOW + timedelta(seconds=60)
        set_clock(app, NOW + timedelta(seconds=5))
        again = (await links(app, tw, "resident", case["id"]))["photos"][0]
        # the same URL a few seconds later (clients cache by URL), unless a window boundary fell between
        assert again["url"] == first["url"] or datetime.fromisoformat(again["urlsExpireAt"]) > expires
        path = urlsplit(first["url"])
        r = await client.get(f"{path.path}?{path.query}")
        assert r.status_code == 200
        set_clock(app, NOW + timedelta(seconds=61))
        assert (await client.get(f"{path.path}?{path.query}")).status_code == 403


def test_the_link_key_is_derived_and_serve_needs_one(tmp_path: Path) -> None:
    """The key is GONGZHI_PHOTO_URL_KEY's, else the JWT secret's, else the data keys' — derived, never
    the secret itself; a server with none of them (RS256 tokens, no data keys) refuses to start."""
    pem = tmp_path / "public.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
    data_keys = "k1:" + "A" * 43 + "="
    assert photo_link_key(Settings(jwt_secret="jwt")) == derive_key("jwt") != b"jwt"
    assert photo_link_key(Settings(jwt_secret="jwt", photo_url_key="own")) == derive_key("own")
    assert photo_link_key(Settings(jwt_public_key_file=str(pem), data_keys=data_keys)) == derive_key(data_keys)
    # preflight configures the process's sealing keys (k1 only): the tests' keys back after it, whole —
    # configure(None, None) changes nothing, and a later test in this process could not open the session-wide
    # world's values sealed with the development key (CI: SealError "no key 'dev'" in test_compiled_nodes)
    saved = (sealing.KEYRING.keys, sealing.KEYRING.index_key)
    try:
        preflight(Settings(jwt_public_key_file=str(pem), data_keys=data_keys))
        assert sealing.KEYRING.current[0] == "k1"  # what the restore below undoes
    finally:
        sealing.KEYRING.keys, sealing.KEYRING.index_key = saved
    assert sealing.KEYRING.keys == saved[0] and sealing.KEYRING.current[0] != "k1"
    preflight(Settings(jwt_public_key_file=str(pem), photo_url_key="own"))
    with pytest.raises(ConfigError, match="GONGZHI_PHOTO_URL_KEY"):
        preflight(Settings(jwt_public_key_file=str(pem)))


def test_a_partner_clients_link_names_the_client() -> None:
    """No partner unit reads cases today (no agreement grants case·read), but a link issued to a
    partner's API client names the client, and the download opens the tenant as that client."""
    links = PhotoLinks(key=derive_key("k"), ttl=600)
    attachment, reader = uuid7(), uuid7()
    url = links.url(tenant="t", attachment_id=attachment, variant=Variant.FULL, reader=reader, client="c-1", now=NOW)
    params = dict(parse_qsl(urlsplit(url).query))
    assert links.verify(params, attachment, Variant.FULL, NOW).client == "c-1"
    for changed in ({"client": "c-2"}, {"client": ""}):
        with pytest.raises(LinkRefused):
            links.verify({**params, **changed}, attachment, Variant.FULL, NOW)
    with pytest.raises(LinkRefused):
        links.verify({k: v for k, v in params.items() if k != "client"}, attachment, Variant.FULL, NOW)
