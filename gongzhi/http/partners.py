"""What a partner unit's API client may ask (issues #24 and #25): the root fields its modules declare
(``Module.partner``), each only while an agreement in force grants what the field needs.

Checked once per request, on the document, before anything runs — only for partner clients, so it
costs the staff API nothing. Every other root field (the staff API, the catalogues, ``node`` and
``nodes``) is refused with ``FORBIDDEN``, one error per refused field with its path, so that "not
granted" never looks like "no data" (an empty list) and no permissive read rule meant for a
tenant's staff reaches a partner system.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from gongzhi.modules import partner_surface
from policies.actor import Actor
from policies.cobuilding import agreement_reach


def _root_fields(selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
                 seen: frozenset[str] = frozenset()) -> list[FieldNode]:
    out: list[FieldNode] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            out.append(node)
        elif isinstance(node, InlineFragmentNode):
            out.extend(_root_fields(node.selection_set, fragments, seen))
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                out.extend(_root_fields(fragment.selection_set, fragments, seen | {node.name.value}))
    return out


def partner_refusals(document: DocumentNode, operation: OperationDefinitionNode, actor: Actor) -> list[dict[str, Any]]:
    """One FORBIDDEN error per root field of ``operation`` the partner actor may not use now."""
    surface = partner_surface()
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    errors: list[dict[str, Any]] = []
    for node in _root_fields(operation.selection_set, fragments):
        name = node.name.value
        if name == "__typename":
            continue
        key = node.alias.value if node.alias else name
        if name not in surface:
            message = f"合作单位的系统不能使用 {name}：它不在共建接口之内"
        else:
            need = surface[name]
            if need is None or agreement_reach(actor, *need):
                continue
            message = f"没有生效的共建协议授予 {need[0]}·{need[1]}，不能使用 {name}"
        errors.append({"message": message, "path": [key],
                       "extensions": {"code": "FORBIDDEN", "field": name}})
    return errors
