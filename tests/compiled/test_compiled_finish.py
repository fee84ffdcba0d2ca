"""compiled.plans.finish replaces the full-read markers in the statement's text (issue #21): the same
values and the same audited persons as parsing and walking the whole answer, which it still does for
a text the pattern does not account for."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from compiled.plans import _unmark, finish
from models.sealing import KEYRING

P1, P2 = uuid.UUID("01a2463a-c744-71f3-87d4-85c59fb19dd4"), uuid.UUID("01a2463a-c744-71f3-87d4-85c59fb19dd5")


class Ctx:
    def __init__(self) -> None:
        self.pii_reads: set[uuid.UUID] = set()
        self.pii_read_ids: set[str] = set()  # finish's: the ids as text (RequestContext.pii_read_ids)

    def persons(self) -> set[uuid.UUID]:
        """The persons read in full, whichever way they were recorded (RequestContext.audit_entries)."""
        return self.pii_reads | {uuid.UUID(i) for i in self.pii_read_ids}


def marker(person: uuid.UUID, value: str, *, sealed: bool = False) -> str:
    """As PostgreSQL's json_build_object writes it (its spacing)."""
    return f'{{"$pii" : "{person}", "v" : {value}' + (', "s" : true}' if sealed else "}")


def text_of(**fields: str) -> str:
    return "{" + ", ".join(f'"{k}" : {v}' for k, v in fields.items()) + "}"


def walked(data: str) -> tuple[Any, set[uuid.UUID]]:
    ctx = Ctx()
    return _unmark(orjson.loads(data), ctx), ctx.pii_reads  # type: ignore[arg-type]


def test_markers_are_replaced_as_the_walk_replaces_them() -> None:
    phone = orjson.dumps(KEYRING.seal("13912345678")).decode()
    card = orjson.dumps(KEYRING.seal('34030219800712102"\\X')).decode()  # a quote and a backslash inside
    data = "[" + ", ".join([
        text_of(name='"张三 {\\"$pii\\" : 1}"', phone=marker(P1, phone, sealed=True),
                card=marker(P1, card, sealed=True), born=marker(P1, '"1980-07-12"'),
                tags=marker(P1, '["living_alone", "a]\\"b"]')),
        text_of(name='"李四"', phone="null", tags=marker(P2, "[]"), masked='"139****5678"'),
    ]) + "]"
    ctx = Ctx()
    body = finish(data, ctx)  # type: ignore[arg-type]
    expected, persons = walked(data)
    assert orjson.loads(body) == {"data": expected}
    assert ctx.persons() == persons == {P1, P2}
    assert expected[0]["phone"] == "13912345678" and expected[0]["card"] == '34030219800712102"\\X'
    assert expected[0]["tags"] == ["living_alone", 'a]"b'] and expected[1]["tags"] == []
    assert b"$pii" not in body.replace(b'\\"$pii\\"', b"")  # only the name's own text keeps it


def test_a_text_the_pattern_does_not_account_for_is_walked() -> None:
    data = text_of(odd='{"$pii" : "' + str(P1) + '", "v" : 12}', name='"$pii"')  # a number: no marker of ours
    ctx = Ctx()
    body = finish(data, ctx)  # type: ignore[arg-type]
    expected, persons = walked(data)
    assert orjson.loads(body) == {"data": expected} and ctx.persons() == persons == {P1}


def test_other_markers_are_taken_out_once_before_a_walk(monkeypatch: Any) -> None:
    """The markers besides "$pii" (found by one scan, compiled.plans._OTHER_MARKERS) are taken out in their
    order; at one the patterns do not account for, the answer is walked from the text as it is at that step —
    a report already taken out is not audited again, its marker not left in the answer."""
    import compiled.plans as plans

    entries: list[tuple[uuid.UUID, int, int]] = []
    monkeypatch.setattr(plans, "report_audit", lambda _ctx, p, records, reads: entries.append((p, records, reads)))
    phone = orjson.dumps(KEYRING.seal("13912345678")).decode()
    report = f'"$report" : ["{P1}", 3, 1], '
    odd_reads = f'"$reads" : ["{str(P2).upper()}"], '  # not the lower-case ids the pattern takes
    data = ("{" + report + odd_reads + f'"phone" : {marker(P1, phone, sealed=True)}, "h" : {{"$hours" : 1.25}}'
            + "}")
    ctx = Ctx()
    body = orjson.loads(finish(data, ctx))  # type: ignore[arg-type]
    assert entries == [(P1, 3, 1)], entries  # once, though the walk came after it
    assert body == {"data": {"phone": "13912345678", "h": 1.25}}, body
    assert ctx.persons() == {P1, P2}
    # none of them: the text itself, the persons read recorded
    plain = "{" + f'"phone" : {marker(P2, phone, sealed=True)}, "name" : "$read"' + "}"
    ctx = Ctx()
    assert orjson.loads(finish(plain, ctx)) == {"data": {"phone": "13912345678", "name": "$read"}}  # type: ignore[arg-type]
    assert ctx.pii_read_ids == {str(P2)} and entries == [(P1, 3, 1)]
