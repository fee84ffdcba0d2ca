"""Compiled reads (issue #9): a query is answered by ONE PostgreSQL statement that builds the response.

Why a package of its own (issue #20): the compiler is not part of the GraphQL schema. It reads the
schema's *document* with graphql-core and writes SQL from the models, the policies' predicates and
the resolvers' helpers. From ``schema/`` it reads only declarations, so that a field is declared
once: the column fields of the strawberry types (``schema.columns``) and the mask placeholders
(``schema.register``); the rules with a SQL and a Python form (overdue, a case's community, IDs and
cursors) live below both paths, in ``models`` and ``resolvers.ids``. Kept in ``schema/`` it looked
like a second set of types beside the strawberry ones. Its layer sits between the composition root (which chooses, per
request, compiled or strawberry) and ``schema`` — see the import-linter layers in pyproject.toml.

The resolvers answer a page of 50 cases with a handful of batched statements, but graphql-core then
walks every field of every item in Python — most of a request's time. For the operations frontends
send all day, this package turns the whole selection into one ``SELECT`` of the answer's JSON text
(json_build_object's, written by concatenation: ``compiled.sql.JsonObject``): the database filters,
pages, joins and shapes the JSON, and the server passes the text on.

Nothing is given up for it:
- the row filters are the resolvers' own predicates (``policies/filters.py``), computed from the same
  Casbin grants, so a compiled read sees exactly what the resolvers would;
- masking is the same rule: a person's ID number and phone come from their stored masked forms
  (``persons.*_masked``), and full reads are markers that ``finish`` unseals and records for the
  audit, as the resolvers do; a list whose rows are full reads whatever is selected (service records)
  names their persons in a "$reads" key, a report audited as such (personalDataReport) its entry in a
  "$report" key, both taken out by ``finish``;
- figures the resolvers round or judge in Python stay Python's: handling hours ("$hours") and the case
  rates ("$rates": the 响应率 on the working calendar, the score, the ranking) arrive as markers that
  ``finish`` completes with the resolvers' own functions;
- tenancy: every table is also filtered by ``tenant_id`` and, on PostgreSQL, by row-level security.

Anything this package does not know — a field not in ``fields.FIELDS``, an argument it would have to
validate, a directive, a partner actor's document with a root field outside ``cobuilding.PARTNER_ROOTS``,
SQLite — makes ``compile_request`` return None and the request runs through strawberry as before. A
partner's plan is keyed by its unit, client and agreements in force (``plans._actor_key``).
``tests/compiled/test_compiled.py`` checks, per role, that both paths give
the same bytes, and that every (type, field) of ``compiled_fields()`` is among those it compares.

Modules: ``sql`` (SQL building blocks), ``compiler`` (selections, arguments, parameters, dispatch),
``fields`` (the per-type field tables: what the compiler knows), ``plans`` (plan cache, compile,
run, finish), ``sorted_lists`` (lists declared as the resolvers' statement and ``ListOrder``); every
other module is one domain's fields with its ``TABLES`` (issue #21: notices, topics, meetings,
activities, wishes, visits, persons, notifications, me, areas, access, users, nodes, settings, ledgers,
policy, audit, organisations, inservice, evaluations, care, walls, volunteering, cobuilding,
partner_units, statistics, rates, tenant_rules, catalogue, calendar …), which ``fields`` finds by name.
"""

from compiled.compiler import Unsupported
from compiled.fields import FIELDS
from compiled.plans import Plan, PlanCache, compile_request, finish, quiet, run_compiled

__all__ = ["FIELDS", "Plan", "PlanCache", "Unsupported", "compile_request", "compiled_fields", "finish", "quiet",
           "run_compiled"]


def compiled_fields() -> dict[str, frozenset[str]]:
    """Per GraphQL type, the fields the compiler answers (the keys it dispatches on)."""
    return {type_name: frozenset(table) for type_name, table in FIELDS.items()}
