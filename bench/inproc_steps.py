"""The case steps of the portal mix for ``bench.inproc`` (issue #21), each as bench/mix_writes.py sends it, as
the same role: the grid leader accepts, dispatches (to the community) and resolves, the reporter gives
feedback. The cases a step needs are reported and brought to its state first, unmeasured, one per request.

    python -m bench.inproc acceptCase 300
    python -m bench.inproc dispatchCase 300
    python -m bench.inproc startCase 300
    python -m bench.inproc resolveCase 300          # after dispatch and start
    python -m bench.inproc giveCaseFeedback 300     # after resolve
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bench.inproc_writes import Call, Pool, Request

ERR = "errors { code message field }"
HANDLER = "yanquan.grid"
REPORTER = "yanquan.resident"
NAMES = ("acceptCase", "dispatchCase", "startCase", "resolveCase", "giveCaseFeedback")
REPORT = ("mutation R($input: ReportCaseInput!) { reportCase(input: $input) { case { id number state dueAt version } "
          f"{ERR} }} }}")


def _doc(name: str, input_type: str) -> str:
    return f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{ case {{ id state version }} {ERR} }} }}"


FEEDBACK = ("mutation F($input: CaseFeedbackInput!) { giveCaseFeedback(input: $input) { case { id state satisfied } "
            f"{ERR} }} }}")


def steps(community: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(actor, mutation, document, input beside the id) in the order of the loop."""
    return [
        (HANDLER, "acceptCase", _doc("acceptCase", "CaseTransitionInput"), {"note": "已受理"}),
        (HANDLER, "dispatchCase", _doc("dispatchCase", "DispatchCaseInput"),
         {"handlerKind": "COMMUNITY", "communityId": community, "note": "社区处理"}),
        (HANDLER, "startCase", _doc("startCase", "CaseTransitionInput"), {}),
        (HANDLER, "resolveCase", _doc("resolveCase", "ResolveCaseInput"), {"resolution": "已更换灯泡。"}),
        (REPORTER, "giveCaseFeedback", FEEDBACK, {"satisfied": True, "comment": "很及时"}),
    ]


def _input(name: str, case_id: str, extra: dict[str, Any]) -> dict[str, Any]:
    given = {"id": case_id, **extra}
    if name == "giveCaseFeedback":
        given["idempotencyKey"] = uuid.uuid4().hex
    return {"input": given}


async def operation(name: str, requests: int, call: Call, value: Callable[[Any], Awaitable[Any]],
                    ref: Callable[[str], Any]) -> Callable[[], Request]:
    total = requests + max(20, requests // 10) + 1  # measured, warm-up, --sql
    building = await value(ref("reporter_building"))
    community = await value(ref("community"))
    category = (await call(REPORTER, "{ caseCategories { code } }", {}))["caseCategories"][0]["code"]
    loop = steps(community)
    before = [s for s in loop[:[s[1] for s in loop].index(name)]]
    actor, _, document, extra = loop[[s[1] for s in loop].index(name)]
    made: list[Request] = []
    for _ in range(total):
        d = await call(REPORTER, REPORT, {"input": {
            "areaId": building, "category": category, "priority": "NORMAL", "title": "楼道灯不亮",
            "description": "三单元二楼楼道灯坏了。", "idempotencyKey": uuid.uuid4().hex}})
        case_id = d["reportCase"]["case"]["id"]
        for a, n, doc, more in before:
            answered = await call(a, doc, _input(n, case_id, more))
            if answered[n]["errors"]:
                raise SystemExit(f"{n}: {answered[n]['errors']}")
        made.append((actor, document, _input(name, case_id, extra)))
    return Pool(made).make
