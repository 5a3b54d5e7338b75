"""The authorization matrix: every row of the README's table "Who may do what (role × resource
× action)", parsed from the README so the two cannot drift, checked on the gateway and on the
port of the service that owns the resource, for a rep and a manager of the owning team, a rep
and a manager of another team, an admin and the commerce service identity. Each answer is
classed as allowed (2xx) or refused (403, or 404 where existence is the owners' business); a
customer's lists are allowed when the team's plan is shown, refused when it is left out."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from devstack.probes import eventually

from tests.e2e.targeting_kit import cardio, in_list, known_to_lists, new_customer

pytestmark = [pytest.mark.e2e, pytest.mark.servers]

README = Path(__file__).resolve().parents[2] / "README.md"
HIGH = {"potential": "high", "adoption": "early"}
ROLES = ("rep of T", "rep of O", "manager of T", "manager of O", "admin", "commerce")


@dataclass(frozen=True)
class Row:
    resource: str
    action: str
    rep: str
    manager: str
    admin: str

    def expected(self, role: str) -> str:
        """allowed or refused, from the cells' words."""
        if role == "commerce":
            return "allowed" if "commerce service identity" in self.admin else "refused"
        if role == "admin":
            return "refused" if self.admin == "—" else "allowed"
        cell = self.rep if role.startswith("rep") else self.manager
        if cell == "same":
            cell = self.rep
        own_team = role.endswith("of T")
        if cell.startswith(("any", "yes")):
            return "allowed"
        if cell == "—":
            return "refused"
        if cell.startswith("its owner") and "members" not in cell:
            # the owner alone: the rep of T created every owned object here
            return "allowed" if role == "rep of T" else "refused"
        return "allowed" if own_team else "refused"


def readme_rows() -> list[Row]:
    text = README.read_text()
    table = text[text.index("### Who may do what (role × resource × action)") :]
    rows = []
    for line in table.splitlines():
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("resource", "") or set(cells[0]) <= {"-"}:
            continue
        rows.append(Row(*cells))
    return rows


@dataclass
class World:
    """One platform's objects: team T (with a plan P assigning segmentation S, customer c in
    its territory and in P's list, a static list, a saved search and an import job of T's rep)
    and another team O."""

    team: str
    other: str
    plan: str
    segmentation: str
    customer: str
    member: str
    static_list: str
    saved_search: str
    import_job: str
    headers: dict[str, dict[str, str]]
    admin: httpx.AsyncClient


Call = Callable[[str, str, dict[str, str], Any], Awaitable[httpx.Response]]
Scenario = Callable[[World, Call, dict[str, str]], Awaitable[httpx.Response | bool]]


def uid() -> str:
    return uuid.uuid4().hex[:8]


async def fresh_plan(world: World, submitted: bool = False) -> str:
    plan_id = f"{world.team}-{uid()}"
    created = await world.admin.post(
        "/api/plans",
        json={
            "id": plan_id,
            "team_id": world.team,
            "period": "2027",
            "segmentations": [world.segmentation],
            "targeted_segments": [{"segmentation": world.segmentation, "segment": "a"}],
        },
    )
    assert created.status_code == 201, created.text
    if submitted:
        done = await world.admin.post(f"/api/plans/{plan_id}/submit")
        assert done.status_code == 200, done.text
    return plan_id


async def fresh_customer(world: World) -> str:
    return (await new_customer(world.admin, "BX9"))["id"]


async def customers_lists(world: World, call: Call, who: dict[str, str]) -> httpx.Response | bool:
    answer = await call("GET", f"/customers/{world.customer}/lists", who, None)
    if answer.status_code != 200:
        return answer
    return world.plan in {p["plan_id"] for p in answer.json()["plans"]}


# (resource, action) of a README row -> (the owning service, what the role does)
SCENARIOS: dict[tuple[str, str], tuple[str, Scenario]] = {
    ("team", "read"): ("lists", lambda w, call, who: call("GET", f"/teams/{w.team}", who, None)),
    ("team", "create"): (
        "lists",
        lambda w, call, who: call(
            "POST", "/teams", who, {"id": f"t-{uid()}", "name": "New", "bricks": []}
        ),
    ),
    ("team T", "change name, reps, territory"): (
        "lists",
        lambda w, call, who: call("PATCH", f"/teams/{w.team}", who, {"name": "North"}),
    ),
    (
        "plan of team T",
        "read it, its list, CSV, snapshot, explain, lookup; see it in `GET /api/plans`",
    ): ("lists", lambda w, call, who: call("GET", f"/plans/{w.plan}/customers", who, None)),
    ("plan of team T", "create, change (draft)"): (
        "lists",
        lambda w, call, who: call(
            "PUT",
            f"/plans/{w.plan}",
            who,
            {
                "segmentations": [w.segmentation],
                "targeted_segments": [{"segmentation": w.segmentation, "segment": "a"}],
            },
        ),
    ),
    ("plan of team T", "submit"): (
        "lists",
        lambda w, call, who: _then(
            fresh_plan(w), lambda p: call("POST", f"/plans/{p}/submit", who, None)
        ),
    ),
    ("plan of team T", "reopen (submitted)"): (
        "lists",
        lambda w, call, who: _then(
            fresh_plan(w, submitted=True), lambda p: call("POST", f"/plans/{p}/reopen", who, None)
        ),
    ),
    ("plan of team T", "add/remove a customer by hand, add/edit flow (draft)"): (
        "lists",
        lambda w, call, who: call("POST", f"/plans/{w.plan}/customers/{w.customer}", who, None),
    ),
    ("profile values of customer c in segmentation S", "read, compute"): (
        "segmentation",
        lambda w, call, who: call("GET", f"/profiles/{w.customer}", who, None),
    ),
    ("profile values of customer c in segmentation S", "save (one by one or bulk)"): (
        "segmentation",
        lambda w, call, who: call(
            "PUT", f"/profiles/{w.customer}/{w.segmentation}", who, {"values": HIGH}
        ),
    ),
    (
        "static list or group",
        "read: the list, its customers, CSV, ids; listed in `GET /api/lists` and `?customer_id=`",
    ): ("lists", lambda w, call, who: call("GET", f"/lists/{w.static_list}/customers", who, None)),
    (
        "static list or group",
        "change, delete, add/remove customers, import, add matching",
    ): (
        "lists",
        lambda w, call, who: call(
            "POST", f"/lists/{w.static_list}/customers", who, {"customer_ids": [w.customer]}
        ),
    ),
    ("a customer's lists (`/customers/{id}/lists`, the 360's `lists`)", "read"): (
        "lists",
        customers_lists,
    ),
    ("import job", "read"): (
        "customer",
        lambda w, call, who: call("GET", f"/bulk/imports/{w.import_job}", who, None),
    ),
    ("saved search", "read, run, export"): (
        "customer",
        lambda w, call, who: call("GET", f"/saved-searches/{w.saved_search}/customers", who, None),
    ),
    ("saved search", "create, change its teams"): (
        "customer",
        lambda w, call, who: call(
            "POST",
            "/saved-searches",
            who,
            {"name": f"S {uid()}", "criteria": {"last_name": "Zz"}, "teams": [w.team]},
        ),
    ),
    ("saved search", "change, delete"): (
        "customer",
        lambda w, call, who: call(
            "PUT",
            f"/saved-searches/{w.saved_search}",
            who,
            {"name": f"Shared {w.team}", "criteria": {"last_name": "Zz"}, "teams": [w.team]},
        ),
    ),
    ("segmentation", "read, preview"): (
        "segmentation",
        lambda w, call, who: call("GET", f"/segmentations/{w.segmentation}", who, None),
    ),
    ("segmentation", "define, change rules"): (
        "segmentation",
        lambda w, call, who: call("POST", "/segmentations", who, cardio(f"c-{uid()}", ["low"])),
    ),
    ("purchase", "record"): (
        "loyalty",
        lambda w, call, who: call(
            "POST",
            "/purchases",
            who,
            {
                "order_id": f"M-{uid()}",
                "customer_id": w.member,
                "purchased_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "lines": [{"product": "Hat", "category": "Apparel", "amount": "1.00"}],
            },
        ),
    ),
    ("customer", "erase"): (
        "customer",
        lambda w, call, who: _then(
            fresh_customer(w), lambda c: call("DELETE", f"/customers/{c}", who, None)
        ),
    ),
}


async def _then(made: Awaitable[str], act: Callable[[str], Awaitable[Any]]) -> Any:
    return await act(await made)


def test_every_row_of_the_readme_table_has_a_scenario_and_no_other() -> None:
    keys = [(row.resource, row.action) for row in readme_rows()]
    assert len(keys) == len(set(keys)) >= 20
    assert set(keys) == set(SCENARIOS)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def world(platform) -> AsyncIterator[World]:
    """Built once for both tests (the gateway's and the services' ports)."""
    async with httpx.AsyncClient(
        base_url=platform.gateway_url, headers=platform.auth(), timeout=20
    ) as gateway:
        yield await build_world(platform, gateway)


async def build_world(platform, gateway: httpx.AsyncClient) -> World:
    run = uid()
    team, other, seg = f"mt-{run}", f"mo-{run}", f"mseg-{run}"
    rep_t = f"rep-t-{run}"
    headers = {
        "rep of T": platform.auth(user=rep_t, role="rep", teams=[team]),
        "rep of O": platform.auth(user=f"rep-o-{run}", role="rep", teams=[other]),
        "manager of T": platform.auth(user=f"boss-t-{run}", role="manager", teams=[team]),
        "manager of O": platform.auth(user=f"boss-o-{run}", role="manager", teams=[other]),
        "admin": platform.auth(user=f"admin-{run}", role="admin"),
        "commerce": platform.service_auth("commerce"),
    }
    assert (
        await gateway.post("/api/segmentations", json=cardio(seg, ["medium"]))
    ).status_code == 201
    for team_id in (team, other):
        made = await gateway.post(
            "/api/teams",
            json={
                "id": team_id,
                "name": team_id,
                "bricks": ["BM1"] if team_id == team else [],
                "reps": [rep_t],
            },
        )
        assert made.status_code == 201, made.text
    plan = f"{team}-p"
    made = await gateway.post(
        "/api/plans",
        json={
            "id": plan,
            "team_id": team,
            "period": "2026",
            "segmentations": [seg],
            "targeted_segments": [{"segmentation": seg, "segment": "a"}],
        },
    )
    assert made.status_code == 201, made.text
    customer = (await new_customer(gateway, "BM1"))["id"]
    await known_to_lists(gateway, plan, customer)
    probe = platform.auth(user=f"probe-{run}", role="rep", teams=[f"nowhere-{run}"])

    async def segmentation_knows_the_plan() -> bool:
        answer = await gateway.put(
            f"/api/profiles/{customer}/{seg}", json={"values": HIGH}, headers=probe
        )
        return answer.status_code == 403

    await eventually(segmentation_knows_the_plan, what="segmentation to learn team T's plan")
    saved = await gateway.put(f"/api/profiles/{customer}/{seg}", json={"values": HIGH})
    assert saved.status_code == 200, saved.text
    await eventually(lambda: in_list(gateway, plan, customer), what="c in P's list")

    made = await gateway.post(
        "/api/lists", json={"name": f"List {run}"}, headers=headers["rep of T"]
    )
    assert made.status_code == 201, made.text
    static_list = made.json()["id"]

    async def shared_search() -> httpx.Response | None:
        body = {"name": f"Shared {team}", "criteria": {"last_name": "Zz"}, "teams": [team]}
        answer = await gateway.post("/api/saved-searches", json=body, headers=headers["rep of T"])
        return answer if answer.status_code != 422 else None

    search = await eventually(shared_search, what="the customer service to know team T")
    assert search.status_code == 201, search.text
    started = await gateway.post(
        "/api/bulk/imports",
        files={
            "file": ("m.csv", f"first_name,last_name,email\r\nMa,Trix,{run}@ex.org\r\n", "text/csv")
        },
        headers=headers["rep of T"],
    )
    assert started.status_code == 202, started.text

    member = (await new_customer(gateway, "BX8"))["id"]

    async def enrolled() -> bool:
        return (await gateway.get(f"/api/members/{member}")).status_code == 200

    await eventually(enrolled, what="the member enrolled")
    return World(
        team=team,
        other=other,
        plan=plan,
        segmentation=seg,
        customer=customer,
        member=member,
        static_list=static_list,
        saved_search=search.json()["id"],
        import_job=started.json()["id"],
        headers=headers,
        admin=gateway,
    )


def caller(client: httpx.AsyncClient, base: str) -> Call:
    async def call(method: str, path: str, who: dict[str, str], body: Any) -> httpx.Response:
        return await client.request(method, base + path, json=body, headers=who)

    return call


def answer_class(answer: httpx.Response | bool) -> str:
    if isinstance(answer, bool):
        return "allowed" if answer else "refused"
    if 200 <= answer.status_code < 300:
        return "allowed"
    if answer.status_code in (403, 404):
        return "refused"
    return f"unexpected {answer.status_code}: {answer.text[:200]}"


@pytest.mark.parametrize("where", ["gateway", "service"])
async def test_every_role_gets_the_answer_the_readme_table_gives(
    platform, world: World, where: str
) -> None:
    wrong = []
    checked = 0
    async with httpx.AsyncClient(timeout=20) as client:
        for row in readme_rows():
            service, scenario = SCENARIOS[(row.resource, row.action)]
            if where == "gateway":
                call = caller(client, platform.gateway_url + "/api")
                if scenario is customers_lists:  # on the gateway: the 360's lists part
                    scenario = customers_lists_in_360
            else:
                call = caller(client, platform.url(service))
            for role in ROLES:
                got = answer_class(await scenario(world, call, world.headers[role]))
                checked += 1
                if got != row.expected(role):
                    wrong.append(
                        f"{row.resource} / {row.action} / {role}: {got}, "
                        f"the table says {row.expected(role)}"
                    )
    assert wrong == [], "\n".join(wrong)
    assert checked == len(readme_rows()) * len(ROLES)


async def customers_lists_in_360(
    world: World, call: Call, who: dict[str, str]
) -> httpx.Response | bool:
    answer = await call("GET", f"/customers/{world.customer}/360", who, None)
    if answer.status_code != 200:
        return answer
    return world.plan in {p["plan_id"] for p in answer.json()["lists"]["data"]["plans"]}
