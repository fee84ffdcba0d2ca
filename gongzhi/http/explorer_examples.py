"""The demo explorer's example tabs (issue #25): one tab per operation of ``examples/operations/``,
each with the actor it is meant for, and its variables filled from the chosen actor's own data.

A tab is one operation, so the run button runs it at once (a file of several operations would open a
menu first). The tab keeps its file's header comment when it is the file's first operation, and the
comment right above it. ``example_variables`` answers, for a demo user, the variables of every tab:
it reads the user's context as that user would (``CONTEXT_QUERY`` run in-process, with the same
request context and policies as ``/graphql``), then fills each declared variable it knows by name:

- ``compoundId``: the compound of the user's own household, else the first compound the user may read;
- ``areaId``: the scope of the user's first role in force;
- ``from`` / ``to``: the last 30 days, today included (Asia/Shanghai).

A variable with a default is left out (the default applies); a required one it cannot fill is listed
under ``missing`` (tests/http/test_explorer.py fails on one for a tab's intended actor).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from graphql import (
    DocumentNode,
    GraphQLError,
    NonNullTypeNode,
    OperationDefinitionNode,
    parse,
)
from starlette.requests import Request

from gongzhi.http import pipeline
from gongzhi.http.state import AppState
from gongzhi.modules import schema as built_schema
from gongzhi.settings import ROOT

EXAMPLES = ROOT / "examples" / "operations"
# Tab order: the portals in the order of docs/portals.md.
EXAMPLE_ORDER = ["whoami", "resident", "grid_worker", "party_secretary", "property_firm", "partner"]
# The actor each file's operations are meant for: a demo user's role, "partner" (a partner system), or
# None (any demo user). The explorer's bar names it and offers to switch to such an actor.
INTENDED_ACTOR: dict[str, str | None] = {
    "whoami": None, "resident": "resident", "grid_worker": "grid_leader", "party_secretary": "party_secretary",
    "property_firm": "property_firm", "partner": "partner",
}
SHANGHAI = ZoneInfo("Asia/Shanghai")

# What the page needs to know about the actor to fill the examples' variables, read as that actor.
CONTEXT_QUERY = """query ExplorerContext {
  me {
    roles { active scope { id } }
    person { household { building { parent { id kind } } } }
  }
  compounds: areas(kind: COMPOUND, first: 1) { nodes { id } }
}"""


@dataclass(frozen=True)
class ExampleTab:
    name: str  # the operation's name: the tab's title
    file: str  # the example file's stem
    query: str  # the tab's text: the operation with its comments
    variables: tuple[tuple[str, bool], ...]  # (name, required: non-null without a default)
    actor: str | None  # INTENDED_ACTOR of the file

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "query": self.query, "actor": self.actor,
                "variables": [name for name, _ in self.variables]}


def _variables(op: OperationDefinitionNode) -> tuple[tuple[str, bool], ...]:
    return tuple((v.variable.name.value, isinstance(v.type, NonNullTypeNode) and v.default_value is None)
                 for v in op.variable_definitions or ())


def _split(text: str) -> list[tuple[str, str, tuple[tuple[str, bool], ...]]]:
    """(operation name, text, variables) per operation; the whole text as one tab when it has
    fragments (shared by its operations), an anonymous operation, or does not parse."""
    try:
        doc: DocumentNode = parse(text)
    except GraphQLError:
        return [("", text, ())]
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if (len(ops) != len(doc.definitions) or any(op.name is None or op.loc is None for op in ops)
            or len(ops) == 1):
        name = ops[0].name.value if len(ops) == 1 and ops[0].name else ""
        return [(name, text, _variables(ops[0]) if len(ops) == 1 else ())]
    out = []
    start = 0
    for op in ops:
        assert op.loc is not None and op.name is not None
        chunk = text[start:op.loc.end].strip("\n")
        out.append((op.name.value, chunk + "\n", _variables(op)))
        start = op.loc.end
    return out


def example_operations(directory: Path = EXAMPLES) -> list[dict[str, str]]:
    """One entry per example file, in EXAMPLE_ORDER: {name (the file's stem), query (its text)}."""
    files = sorted(directory.glob("*.graphql"),
                   key=lambda p: (EXAMPLE_ORDER.index(p.stem) if p.stem in EXAMPLE_ORDER else 99, p.stem))
    return [{"name": p.stem, "query": p.read_text(encoding="utf-8")} for p in files]


def tabs_of(examples: list[dict[str, str]]) -> list[ExampleTab]:
    """The explorer's tabs: one per operation of each example file."""
    return [ExampleTab(name or e["name"], e["name"], chunk, variables, INTENDED_ACTOR.get(e["name"]))
            for e in examples for name, chunk, variables in _split(e["query"])]


def example_tabs(directory: Path = EXAMPLES) -> list[ExampleTab]:
    return tabs_of(example_operations(directory))


def _get(data: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(key, int):
            data = data[key] if isinstance(data, list) and len(data) > key else None
        else:
            data = data.get(key) if isinstance(data, dict) else None
    return data


def fillers(context: dict[str, Any], today: date) -> dict[str, Any]:
    """The values the page can fill, by variable name, from the actor's context (None: unknown)."""
    parent = _get(context, "me", "person", "household", "building", "parent")
    own_compound = parent["id"] if isinstance(parent, dict) and parent.get("kind") == "COMPOUND" else None
    roles = [r for r in (_get(context, "me", "roles") or []) if isinstance(r, dict) and r.get("active")]
    return {
        "compoundId": own_compound or _get(context, "compounds", "nodes", 0, "id"),
        "areaId": _get(roles, 0, "scope", "id"),
        "from": (today - timedelta(days=29)).isoformat(),
        "to": today.isoformat(),
    }


def fill(tabs: list[ExampleTab], values: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Per tab: the variables filled, and the required ones that could not be."""
    variables: dict[str, dict[str, Any]] = {}
    missing: dict[str, list[str]] = {}
    for tab in tabs:
        mine = variables.setdefault(tab.name, {})
        for name, required in tab.variables:
            if values.get(name) is not None:
                mine[name] = values[name]
            elif required:
                missing.setdefault(tab.name, []).append(name)
    return variables, missing


async def actor_context(request: Request, user_id: uuid.UUID, tenant: str) -> dict[str, Any]:
    """CONTEXT_QUERY as the user, in-process: the request context and policies of /graphql."""
    state: AppState = request.app.state.gongzhi
    async with state.sessionmaker() as session:
        ctx = await state.open_context(session, user_id, tenant, pipeline.request_id(), pipeline.client_addr(request))
        result = await built_schema().execute(CONTEXT_QUERY, context_value={"request_context": ctx,
                                                                             "request": request})
        await state.commit(session, ctx)
    return result.data or {}


async def example_variables(request: Request, user_id: uuid.UUID, tenant: str) -> dict[str, Any]:
    state: AppState = request.app.state.gongzhi
    tabs = example_tabs()
    today = state.clock().astimezone(SHANGHAI).date()
    variables, missing = fill(tabs, fillers(await actor_context(request, user_id, tenant), today))
    return {"variables": variables, "missing": missing}
