"""A grid leader's phone (Chromium at 390×844, Playwright's offline mode): the area opens
offline with its contacts, issues and a patrol recorded offline arrive exactly once when the
network returns (the patrol linked to the issue recorded during it), nothing of another grid is kept on the device, and signing out leaves nothing."""
import io

import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

from tests.helpers import add_user, browser_login, q

# Every text kept in Cache Storage and every IndexedDB store of the page's origin, as one string.
DEVICE_DUMP = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      if (!/image|font/.test(response.headers.get("content-type") || "")) out.push(request.url + "\\n" + await response.text());
    }
  }
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((ok, fail) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
    for (const store of db.objectStoreNames) {
      const rows = await new Promise(ok => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); });
      out.push(JSON.stringify(rows, (k, v) => v instanceof Blob ? "[blob " + v.size + "]" : v));
    }
    db.close();
  }
  return {caches: await caches.keys(), text: out.join("\\n")};
}"""


class Requests:
    """The paths the live server answers, to prove the offline page never reached it."""

    def __init__(self, app):
        self.wsgi_app, self.paths = app.wsgi_app, []

    def __call__(self, environ, start_response):
        self.paths.append(environ["PATH_INFO"])
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def phone(app, browser, live_server):
    seen = Requests(app)
    app.wsgi_app = seen
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  geolocation={"longitude": 0, "latitude": 0}, permissions=["geolocation"])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.base, page.seen, page.errors = live_server, seen, errors
    yield page
    context.close()
    app.wsgi_app = seen.wsgi_app


def _photo():
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "#3366cc").save(out, format="PNG")
    return {"name": "steps.png", "mimeType": "image/png", "buffer": out.getvalue()}


# The record button: in the map's corner on a desk, in the bottom bar on a phone.
RECORD = ".gm-record-control button, .gm-bottombar [data-slot='record'] button"


def _record(page, lon, lat, title, photo=None):
    page.click(RECORD)
    _place_record(page, lon, lat, title, photo)


def _place_record(page, lon, lat, title, photo=None):
    """The record form opened: place it, fill it, submit it; it is queued."""
    page.evaluate("([lon, lat]) => Workflow.takeClick(L.latLng(lat, lon))", [lon, lat])
    page.fill(".gm-record input[name=title]", title)
    if photo:
        page.set_input_files(".gm-record input[name=photo]", photo)
    # (where the phone-first layout puts the form is another test's business: submit it directly)
    page.locator(".gm-record").evaluate("form => form.requestSubmit()")
    page.wait_for_selector(".gm-queued")
    page.keyboard.press("Escape")


def test_grid_leader_works_offline_and_syncs_exactly_once(app, engine, phone):
    page = phone
    add_user(app, "off_grid", "grid_leader", "汇丰社区/第1网格")
    grid = q(engine, "SELECT g.id FROM grid g JOIN community m ON m.id = g.community_id "
                     "WHERE m.name = '汇丰社区' AND g.name = '第1网格'")[0][0]
    own_phones = {r[0] for r in q(engine, """SELECT h.phone FROM head h JOIN compound c ON c.id = h.compound_id
        WHERE c.grid_id = :g AND h.phone IS NOT NULL AND h.retired_on IS NULL""", g=grid)}
    other_phones = {r[0] for r in q(engine, """SELECT h.phone FROM head h JOIN compound c ON c.id = h.compound_id
        WHERE c.grid_id <> :g AND h.phone IS NOT NULL
        UNION SELECT leader_phone FROM grid WHERE id <> :g AND leader_phone IS NOT NULL""", g=grid)}
    compound_id, lon, lat = q(engine, """SELECT c.id, ST_X(ST_PointOnSurface(c.geom)), ST_Y(ST_PointOnSurface(c.geom))
        FROM compound c WHERE c.grid_id = :g AND EXISTS (SELECT 1 FROM head h WHERE h.compound_id = c.id
        AND h.phone IS NOT NULL AND h.retired_on IS NULL) ORDER BY c.id LIMIT 1""", g=grid)[0]
    assert own_phones and other_phones

    # online: sign in, the service worker takes over and the area is kept on the device
    browser_login(page, "off_grid")
    page.wait_for_selector("html[data-gridmap=ready]")
    page.wait_for_selector("html[data-offline=kept]", timeout=30_000)
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    assert "/api/offline/area" in page.seen.paths

    # offline: the start URL of the home-screen icon opens the area from the device
    page.context.set_offline(True)
    page.seen.paths.clear()
    page.goto(page.base + "/?panel=myarea")
    page.wait_for_selector("html[data-gridmap=ready]")
    page.wait_for_selector("html[data-workflow=ready]")
    banner = page.locator(".gm-offline-banner")
    banner.wait_for(state="visible")
    assert banner.inner_text().startswith("离线 · 数据更新于 ")
    page.wait_for_selector(f".gm-compounds li[data-id='{compound_id}'] a")
    assert any(p in page.inner_text(".gm-myarea-body") for p in own_phones)
    page.wait_for_function("document.querySelectorAll('path.compound').length > 0")
    page.click(f".gm-compounds li[data-id='{compound_id}'] a")
    card = page.locator(f".card[data-compound='{compound_id}']")
    card.wait_for()
    tel = card.locator("a[href^='tel:']").first
    assert tel.get_attribute("href")[4:] in own_phones | {r[0] for r in q(engine, "SELECT leader_phone FROM grid")}
    page.keyboard.press("Escape")

    # two issues recorded offline, one with a photo, the other during a patrol (巡查打卡 from
    # 我的范围 in the phone's bottom bar, at a position inside the compound) that links it: all
    # three wait in the outbox
    _record(page, lon, lat, "离线记录一 楼道灯不亮", _photo())
    page.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 10})
    page.click(".gm-bottombar .gm-patrol-toggle")
    page.click(f".gm-sheet .patrol-open[data-id='{compound_id}']")
    sheet = page.locator(f".patrol-sheet[data-compound='{compound_id}']")
    sheet.locator(".patrol-pos", has_text="已定位").wait_for(timeout=15_000)
    sheet.locator(".patrol-record").click()
    assert sheet.is_hidden()   # out of the way while the issue is placed and written
    _place_record(page, lon, lat, "离线记录二 井盖松动")
    linked = sheet.locator(".patrol-issues li[data-key]")
    linked.wait_for()   # back, with the issue
    issue_key = linked.get_attribute("data-key")
    assert not sheet.locator("input[name=nothing_found]").is_checked()
    sheet.locator("textarea[name=note]").fill("离线巡查 井盖待修")
    sheet.locator(".patrol-submit").click()
    sheet.locator(".patrol-done", has_text="已保存，待联网后同步").wait_for()
    assert sheet.locator(".patrol-error").inner_text() == ""
    page.wait_for_function("document.querySelector('.gm-outbox-count').textContent === '待同步 3'")
    assert page.is_visible(".gm-outbox-count")
    assert page.seen.paths == [], f"the offline page reached the server: {page.seen.paths}"

    # nothing of another grid on the device; the own area is there
    kept = page.evaluate(DEVICE_DUMP)
    assert "gridmap-area-v1" in kept["caches"]
    assert any(p in kept["text"] for p in own_phones)
    leaked = [p for p in other_phones if p in kept["text"]]
    assert not leaked, f"another grid's contacts kept on the device: {leaked}"

    # back online: the queue is sent (and sent again at once, and replayed): two issues and the
    # patrol, once each
    snapshot = page.evaluate("Outbox.items().then(items => { window.sentOnce = items; return items.map(i => [i.kind, i.key]); })")
    assert [kind for kind, _key in snapshot] == ["issue", "issue", "patrol"]
    assert snapshot[1][1] == issue_key   # the patrol names the issue by its record's key
    page.context.set_offline(False)
    page.evaluate("Promise.all([Outbox.sync(), Outbox.sync()])")
    page.wait_for_function("document.querySelector('.gm-outbox').hidden", timeout=20_000)
    assert page.evaluate("Outbox.items().then(items => items.length)") == 0
    replay = page.evaluate("""() => Promise.all(window.sentOnce.map(item => {
        const body = new FormData();
        item.form.forEach(([name, value]) => body.append(name, value));
        return fetch(item.url, {method: "POST", body: body,
                                headers: {"Idempotency-Key": item.key,
                                          "X-CSRFToken": document.querySelector("input[name=csrf_token]").value}})
          .then(r => r.json().then(b => [r.status, b.id]));
    }))""")
    rows = q(engine, """SELECT i.id, i.title, p.issue_id IS NOT NULL FROM issue i
        LEFT JOIN issue_photo p ON p.issue_id = i.id WHERE i.title LIKE '离线记录%' ORDER BY i.title""")
    assert [(r[1], r[2]) for r in rows] == [("离线记录一 楼道灯不亮", True), ("离线记录二 井盖松动", False)]
    patrols = q(engine, "SELECT id, compound_id, idempotency_key, nothing_found FROM patrol WHERE note = '离线巡查 井盖待修'")
    assert [tuple(p[1:]) for p in patrols] == [(compound_id, snapshot[2][1], False)]
    assert sorted(status for status, _id in replay) == [200, 200, 200]
    assert [answer_id for _status, answer_id in replay] == [rows[0][0], rows[1][0], patrols[0][0]]
    keys = q(engine, "SELECT key FROM issue_request_key WHERE issue_id = ANY(:ids) ORDER BY issue_id",
             ids=[r[0] for r in rows])
    assert [k[0] for k in keys] == [snapshot[0][1], snapshot[1][1]]
    # the patrol is linked to the issue recorded during it, found by that record's key
    assert q(engine, "SELECT issue_id FROM patrol_issue WHERE patrol_id = :p", p=patrols[0][0]) == [(rows[1][0],)]
    assert not page.errors, page.errors

    # signing out leaves nothing personal on the device, online or off
    page.evaluate("document.querySelector(\"form[action='/logout']\").requestSubmit()")
    page.wait_for_selector("html[data-gridmap=ready]")
    page.wait_for_function("caches.keys().then(keys => keys.indexOf('gridmap-area-v1') < 0)")
    kept = page.evaluate(DEVICE_DUMP)
    assert not any(p in kept["text"] for p in own_phones | other_phones)
    # Clear-Site-Data on the sign-out answer emptied IndexedDB (the signed-out page opens none)
    assert "gridmap-outbox" not in page.evaluate("indexedDB.databases().then(dbs => dbs.map(d => d.name))")
    page.context.set_offline(True)
    try:
        page.reload()
    except PlaywrightError:
        pass   # no page kept for offline: Chromium's own offline page
    html = page.content()
    assert not any(p in html for p in own_phones | other_phones)
    assert "data-gridmap" not in html


def _kept(page, name):
    browser_login(page, name)
    page.wait_for_selector("html[data-gridmap=ready]")
    page.wait_for_selector("html[data-offline=kept]", timeout=30_000)


def test_a_disabled_account_loses_its_offline_data_at_the_next_contact(app, phone):
    page = phone
    add_user(app, "off_gone", "grid_leader", "汇丰社区/第1网格")
    _kept(page, "off_gone")
    assert "gridmap-area-v1" in page.evaluate("caches.keys()")
    result = app.test_cli_runner().invoke(args=["users", "disable", "off_gone"])
    assert result.exit_code == 0, result.output
    # any API call answers 401 now: the service worker deletes the area
    assert page.evaluate("fetch('/api/my-area').then(r => r.status)") == 401
    page.wait_for_function("caches.keys().then(keys => keys.indexOf('gridmap-area-v1') < 0)")
    page.context.set_offline(True)
    page.goto(page.base + "/?panel=myarea")
    assert "本机没有保存的数据" in page.inner_text("body")
    assert "data-gridmap" not in page.content()


def test_kept_data_expires_after_seven_days_without_a_sync(app, phone):
    page = phone
    add_user(app, "off_old", "grid_leader", "汇丰社区/第1网格")
    _kept(page, "off_old")
    # the bundle as if the last sync were eight days ago
    page.evaluate("""async () => {
        const cache = await caches.open("gridmap-area-v1");
        const bundle = await (await cache.match("/api/offline/area")).json();
        bundle.synced_at = new Date(Date.now() - 8 * 24 * 3600 * 1000).toISOString();
        await cache.put("/api/offline/area", new Response(JSON.stringify(bundle), {headers: {"Content-Type": "application/json"}}));
    }""")
    page.context.set_offline(True)
    page.goto(page.base + "/?panel=myarea")
    assert "本机没有保存的数据" in page.inner_text("body")
    assert "gridmap-area-v1" not in page.evaluate("caches.keys()")


def test_a_refused_record_stays_with_the_servers_message(app, engine, phone):
    page = phone
    add_user(app, "off_far", "grid_leader", "汇丰社区/第1网格")
    _kept(page, "off_far")
    page.wait_for_selector("html[data-workflow=ready]")
    page.context.set_offline(True)
    _record(page, 113.10, 34.60, "离线记录 街道以外")   # far outside the subdistrict
    page.wait_for_function("document.querySelector('.gm-outbox-count').textContent === '待同步 1'")
    page.context.set_offline(False)
    page.evaluate("Outbox.sync()")
    page.wait_for_selector(".gm-outbox.has-refused")
    page.click(".gm-outbox-count")
    item = page.locator(".gm-outbox-list li.refused")
    assert "不在中心路街道范围内" in item.locator(".gm-error").inner_text()
    assert page.inner_text(".gm-outbox-count") == "待同步 1"   # kept, never dropped
    # retried as it is, it is refused again and stays; deleted, it is gone; nothing was stored
    item.locator(".gm-outbox-retry").click()
    page.wait_for_selector(".gm-outbox-list li.refused .gm-error")
    page.on("dialog", lambda d: d.accept())
    page.locator(".gm-outbox-list li.refused .gm-outbox-delete").click()
    page.wait_for_function("document.querySelector('.gm-outbox').hidden")
    assert q(engine, "SELECT count(*) FROM issue WHERE title = '离线记录 街道以外'")[0][0] == 0


def test_a_patrol_sent_online_waits_for_the_issue_still_queued_before_it(app, engine, phone):
    """Online, an issue recorded during a patrol did not get through (the network dropped for
    that request): the patrol, which names it by its key, is sent after it, and linked."""
    page = phone
    add_user(app, "off_order", "grid_leader", "汇丰社区/第1网格")
    compound_id, lon, lat = q(engine, """SELECT c.id, ST_X(p), ST_Y(p) FROM compound c JOIN grid g ON g.id = c.grid_id
        JOIN community m ON m.id = c.community_id, ST_PointOnSurface(c.geom) p
        WHERE m.name = '汇丰社区' AND g.name = '第1网格' ORDER BY c.id LIMIT 1""")[0]
    page.context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 10})
    browser_login(page, "off_order", next_path="/?panel=myarea")
    page.wait_for_selector("html[data-workflow=ready]")
    page.wait_for_selector("html[data-outbox=ready]")
    page.click(".gm-bottombar .gm-patrol-toggle")
    page.click(f".gm-sheet .patrol-open[data-id='{compound_id}']")
    sheet = page.locator(f".patrol-sheet[data-compound='{compound_id}']")
    sheet.locator(".patrol-pos", has_text="已定位").wait_for(timeout=15_000)
    # recording cancelled (the banner's cancel): the patrol form comes back
    sheet.locator(".patrol-record").click()
    assert sheet.is_hidden()
    page.click(".gm-banner-cancel")
    sheet.wait_for(state="visible")
    sheet.locator(".patrol-record").click()
    page.route("**/api/issues", lambda route: route.abort("connectionreset"))
    _place_record(page, lon, lat, "巡查中记录 网络中断")
    page.unroute("**/api/issues")
    key = sheet.locator(".patrol-issues li[data-key]").get_attribute("data-key")
    assert q(engine, "SELECT count(*) FROM issue_request_key WHERE key = :k", k=key)[0][0] == 0
    sheet.locator(".patrol-submit").click()
    page.wait_for_selector(".patrol-sheet[data-patrol], .patrol-error:not(:empty)", timeout=15_000)
    assert sheet.locator(".patrol-error").inner_text() == ""
    patrol_id = int(sheet.get_attribute("data-patrol"))
    issue_id = q(engine, "SELECT issue_id FROM issue_request_key WHERE key = :k", k=key)[0][0]
    assert q(engine, "SELECT issue_id FROM patrol_issue WHERE patrol_id = :p", p=patrol_id) == [(issue_id,)]
    page.wait_for_function("document.querySelector('.gm-outbox').hidden")
    assert not page.errors, page.errors
