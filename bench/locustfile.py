"""The load of `make bench LOAD=1` (bench/load.py runs it headless): people of several roles
using the map at once. The public polls the map (with ETags), looks points up and reads
layers and tiles; grid leaders and Open311 clients record issues, each with an idempotency
key, a share of them sent twice as a client that lost the answer would; community staff and
an admin read issues and advance them through the six steps, racing each other on the same
issues. What was accepted is written to $LOAD_OUT when the run ends, for load.py to find in
the database. The plan (accounts, points, tiles) comes from $LOAD_PLAN."""
import collections
import json
import os
import random
import re
import uuid

from locust import HttpUser, between, events, task
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

PLAN = json.load(open(os.environ["LOAD_PLAN"]))
CSRF = re.compile(r'name="csrf[_-]token" (?:value|content)="([^"]+)"')
RETRY_SHARE = 0.25
NEXT = {"reported": "topic", "topic": "notice", "notice": "consult", "consult": "implement",
        "implement": "publish", "publish": "feedback", "feedback": "closed"}

statuses = collections.Counter()
failed = collections.Counter()     # kind → requests that failed
records = {}        # idempotency key → issue id, for every record answered 200/201
replays = []        # (key, first id, id the retry got)
advances = []       # (issue id, to) for every advance answered 200
double_advances = []  # an advance and its retry both answered 200
pool = []          # issue ids recorded in this run, in the grid every signed-in role works in
resent = collections.Counter()   # requests sent again after the connection dropped


class BrowserRetry(Retry):
    """What a browser does when a kept-alive connection turns out closed (the server's
    keep-alive ended as the request left): send the request once more on a new connection.
    Safe for every method here: records carry idempotency keys, advances their version."""

    def increment(self, method=None, url=None, response=None, error=None, *args, **kwargs):
        if error is not None:
            resent[type(error).__name__] += 1
        return super().increment(method, url, response, error, *args, **kwargs)


def browser_like(user):
    adapter = HTTPAdapter(max_retries=BrowserRetry(total=1, connect=1, read=1, status=0, other=0,
                                                   allowed_methods=None, raise_on_status=False))
    user.client.mount("http://", adapter)


@events.request.add_listener
def count(response=None, exception=None, name=None, **_):
    """Over the whole run, ramp-up included (Locust's own table starts when all users are in)."""
    if response is not None and getattr(response, "status_code", None) is not None:
        statuses[response.status_code] += 1
    if exception is not None:
        failed[name] += 1


@events.quitting.add_listener
def write_outcome(**_):
    with open(os.environ["LOAD_OUT"], "w") as out:
        json.dump({"statuses": statuses, "records": records, "replays": replays, "advances": advances,
                   "double_advances": double_advances, "resent": resent, "failed": failed}, out)


def point():
    return random.choice(PLAN["points"])


class Reader(HttpUser):
    """Someone with the map open: it polls the compounds layer, taps, pans."""
    weight = 5
    wait_time = between(0.5, 2.0)

    def on_start(self):
        browser_like(self)
        self.etags = {}

    def poll(self, layer):
        path = f"/api/layers/{layer}.geojson"
        headers = {"If-None-Match": self.etags[layer]} if layer in self.etags else {}
        with self.client.get(path, headers=headers, name="map poll (ETag)", catch_response=True) as r:
            if r.status_code in (200, 304):
                self.etags[layer] = r.headers.get("ETag", self.etags.get(layer))
                r.success()

    @task(4)
    def map_poll(self):
        self.poll(random.choice(["compounds", "compounds", "issues"]))

    @task(3)
    def lookup(self):
        lon, lat = point()
        self.client.get(f"/api/lookup?lon={lon}&lat={lat}", name="lookup")

    @task(2)
    def layer(self):
        layer = random.choice(["venues", "grids", "communities", "issues"])
        self.client.get(f"/api/layers/{layer}.geojson?bbox={PLAN['bbox']}", name="layer read")

    @task(3)
    def tile(self):
        layer, (z, x, y) = random.choice(["compounds", "issues", "grids"]), random.choice(PLAN["tiles"])
        self.client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", name="tile read")


class SignedIn(HttpUser):
    """A signed-in role working in one grid (the grid leader's; inside the staff's community)."""
    abstract = True
    account = None

    def on_start(self):
        browser_like(self)
        name = PLAN["accounts"][self.account]
        token = CSRF.search(self.client.get("/login", name="sign in").text).group(1)
        self.client.post("/login", data={"name": name, "password": PLAN["password"], "csrf_token": token},
                         name="sign in", allow_redirects=False)
        self.csrf = CSRF.search(self.client.get("/login", name="sign in").text).group(1)

    def record(self):
        lon, lat = random.choice(PLAN["grid_points"])
        key = str(uuid.uuid4())
        body = {"title": f"压测诉求 {key[:8]}", "description": "负载测试", "category": "road",
                "channel": "home_visit", "lon": lon, "lat": lat}
        headers = {"X-CSRFToken": self.csrf, "Idempotency-Key": key}
        first = self.client.post("/api/issues", json=body, headers=headers, name="record issue")
        if first.status_code not in (200, 201):
            return
        issue_id = first.json()["id"]
        records[key] = issue_id
        pool.append(issue_id)
        if random.random() < RETRY_SHARE:   # the answer "got lost": the same request again
            again = self.client.post("/api/issues", json=body, headers=headers, name="record issue (retry)")
            if again.status_code in (200, 201):
                replays.append((key, issue_id, again.json()["id"]))

    def advance(self):
        issue_id = random.choice((pool or PLAN["open_issues"])[-30:])
        issue = self.client.get(f"/api/issues/{issue_id}", name="issue read")
        if issue.status_code != 200:
            return
        found = issue.json()
        to = NEXT.get(found["stage"])
        if to is None:
            return
        body = {"to": to, "version": found["version"]}
        if to == "consult":
            body["meeting_id"] = PLAN["meeting"]
        elif to == "publish":
            body["result"] = "已处理"
        elif to == "feedback":
            body["satisfaction"] = "satisfied"
        applied = False
        for attempt in ("advance stage", "advance stage (retry)")[:1 + (random.random() < RETRY_SHARE)]:
            with self.client.post(f"/api/issues/{issue_id}/advance", json=body, name=attempt,
                                  headers={"X-CSRFToken": self.csrf}, catch_response=True) as r:
                if r.status_code == 200:
                    if applied:   # the same request, with the same version, moved it again
                        double_advances.append((issue_id, to))
                    applied = True
                    advances.append((issue_id, to))
                if r.status_code in (200, 409):   # 409: another role moved it first (or the retry is stale)
                    r.success()

    @task(3)
    def look(self):
        lon, lat = random.choice(PLAN["grid_points"])
        self.client.get(f"/api/lookup?lon={lon}&lat={lat}", name="lookup")
        self.client.get("/api/layers/compounds.geojson", name="map poll (ETag)")


class GridLeader(SignedIn):
    weight = 2
    wait_time = between(1.0, 3.0)
    account = "grid_leader"

    @task(2)
    def record_issue(self):
        self.record()

    @task(1)
    def advance_issue(self):
        self.advance()


class CommunityStaff(SignedIn):
    weight = 2
    wait_time = between(1.0, 3.0)
    account = "community_staff"

    @task(1)
    def record_issue(self):
        self.record()

    @task(3)
    def advance_issue(self):
        self.advance()


class Admin(SignedIn):
    weight = 1
    wait_time = between(1.0, 3.0)
    account = "admin"

    @task
    def advance_issue(self):
        self.advance()


class Open311Client(HttpUser):
    """A mini program posting residents' reports with an API key."""
    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self):
        browser_like(self)

    @task
    def report(self):
        lon, lat = point()
        key = str(uuid.uuid4())
        form = {"api_key": PLAN["api_key"], "service_code": "road", "lat": lat, "long": lon,
                "description": f"压测 Open311 {key[:8]}"}
        first = self.client.post("/open311/v2/requests.json", data=form, headers={"Idempotency-Key": key},
                                 name="Open311 report")
        if first.status_code not in (200, 201):
            return
        issue_id = int(first.json()[0]["service_request_id"])
        records[key] = issue_id
        if random.random() < RETRY_SHARE:
            again = self.client.post("/open311/v2/requests.json", data=form, headers={"Idempotency-Key": key},
                                     name="Open311 report (retry)")
            if again.status_code in (200, 201):
                replays.append((key, issue_id, int(again.json()[0]["service_request_id"])))
