-- (4) Report a case: report_case() of bench/postgraphile/rls.sql (case, timeline entry, audit row)
-- with a random building of the grid and a fresh idempotency key.
\set i random(1, {{area_count}})
BEGIN;
SELECT set_config('app.tenant_id', '{{tenant_id}}', true), set_config('app.user_id', '{{user_id}}', true),
       set_config('app.role', '{{role}}', true), set_config('app.scope_path', '{{scope_path}}', true),
       set_config('app.firm_id', '{{firm_id}}', true);
SELECT json_build_object('data', json_build_object('reportCase', json_build_object('case',
  json_build_object('id', r.id, 'number', r.number, 'state', r.state))))
FROM report_case(({{area_array}})[:i], 'garbage', '压测上报', 'normal', md5(random()::text)) r;
COMMIT;
