"""What a module declaration can forget, found from the parts themselves: a tenant table no module
declares, a policy resource no module owns or no line uses, a node type ``node(id:)`` cannot
resolve. ``tests/gongzhi/test_modules.py`` asserts the registry has none of these."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from graphql import GraphQLObjectType, GraphQLSchema

from gongzhi.modules.declaration import Module
from models.base import Base, TenantScoped
from policies.enforcer import default_rules, policy_files


def _table(model: type) -> str:
    name: str = getattr(model, "__tablename__", model.__name__)
    return name


def table_problems(modules: Sequence[Module]) -> list[str]:
    declared = Counter(t for m in modules for t in m.tables)
    tenant_models = {m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)}
    out = [f"table {_table(t)} is declared by {n} modules" for t, n in declared.items() if n > 1]
    out += [f"table {_table(t)} belongs to no module" for t in tenant_models - declared.keys()]
    return sorted(out)


def resource_problems(modules: Sequence[Module], rules: Iterable[Sequence[str]] | None = None) -> list[str]:
    lines = [r for r in (default_rules() if rules is None else rules) if r[0] == "p"]
    used = Counter(r[2] for r in lines)
    owners = Counter(res for m in modules for res in m.resources)
    out = [f"policy resource {r!r} is owned by {n} modules" for r, n in owners.items() if n > 1]
    out += [f"policy resource {r!r} has lines but no module owns it" for r in used.keys() - owners.keys()]
    out += [f"module {m.name} owns policy resource {r!r} that no line uses"
            for m in modules for r in m.resources if r not in used]
    files = set(policy_files())
    names = {m.name for m in modules}
    out += [f"policies/{f}/policy.csv belongs to no module" for f in files - names]
    out += [f"module {m.name} owns resources but has no policies/{m.name}/policy.csv"
            for m in modules if m.resources and m.name not in files]
    return sorted(out)


def node_problems(modules: Sequence[Module], schema: GraphQLSchema) -> list[str]:
    registered = Counter(name for m in modules for name in m.schema.nodes)
    node_types = {name for name, t in schema.type_map.items()
                  if isinstance(t, GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)}
    out = [f"node type {n} has {c} resolvers" for n, c in registered.items() if c > 1]
    out += [f"node type {n} implements Node but node(id:) cannot resolve it" for n in node_types - registered.keys()]
    out += [f"a node resolver is registered for {n}, which is no Node type of the schema"
            for n in registered.keys() - node_types]
    return sorted(out)
