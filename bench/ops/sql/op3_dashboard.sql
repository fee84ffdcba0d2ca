-- (3) The party secretary's case statistics for a community and a month: the statement is the body
-- of case_statistics() in bench/postgraphile/rls.sql (one SQL function, inlined by the planner).
BEGIN;
SELECT set_config('app.tenant_id', '{{tenant_id}}', true), set_config('app.user_id', '{{user_id}}', true),
       set_config('app.role', '{{role}}', true), set_config('app.scope_path', '{{scope_path}}', true),
       set_config('app.firm_id', '{{firm_id}}', true);
SELECT json_build_object('data', json_build_object('caseStatistics',
  case_statistics('{{community_id}}'::uuid, '{{month_from}}'::date, '{{month_to}}'::date)));
COMMIT;
