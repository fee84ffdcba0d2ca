-- (5) One case by id (a random one of a list), as the node lookup returns it.
\set i random(1, {{case_count}})
BEGIN;
SELECT set_config('app.tenant_id', '{{tenant_id}}', true), set_config('app.user_id', '{{user_id}}', true),
       set_config('app.role', '{{role}}', true), set_config('app.scope_path', '{{scope_path}}', true),
       set_config('app.firm_id', '{{firm_id}}', true);
SELECT json_build_object('data', json_build_object('node', (
  SELECT json_build_object('id', c.id, 'number', c.number, 'title', c.title, 'state', c.state,
    'priority', c.priority, 'reportedAt', c.created_at,
    'area', (SELECT json_build_object('name', a.name) FROM areas a WHERE a.tenant_id = c.tenant_id AND a.id = c.area_id))
  FROM cases c WHERE c.id = ({{case_array}})[:i])));
COMMIT;
