-- (1) The grid leader's 50 newest open cases with reporter, grid, community and the last 3 timeline
-- entries, as the JSON response, in one statement. Run by pgbench as gongzhi_bench_pgl (RLS and the
-- restrictive policies of bench/postgraphile/rls.sql apply); {{…}} are filled in by bench/compare.py.
BEGIN;
SELECT set_config('app.tenant_id', '{{tenant_id}}', true), set_config('app.user_id', '{{user_id}}', true),
       set_config('app.role', '{{role}}', true), set_config('app.scope_path', '{{scope_path}}', true),
       set_config('app.firm_id', '{{firm_id}}', true);
SELECT json_build_object('data', json_build_object('cases', json_build_object('nodes',
  coalesce(json_agg(s.x ORDER BY s.id DESC), '[]'))))
FROM (
  SELECT c.id, json_build_object(
    'id', c.id, 'number', c.number, 'title', c.title, 'category', c.category_code, 'priority', c.priority,
    'state', c.state, 'reportedAt', c.created_at, 'dueAt', c.due_at,
    'reporter', (SELECT json_build_object('displayName', u.display_name) FROM users u WHERE u.id = c.reporter_user_id),
    'area', (SELECT json_build_object('id', a.id, 'name', a.name)
             FROM areas a WHERE a.tenant_id = c.tenant_id AND a.id = c.area_id),
    'grid', (SELECT json_build_object('name', g.name)
             FROM grid_buildings gb JOIN areas g ON g.tenant_id = gb.tenant_id AND g.id = gb.grid_id
             WHERE gb.tenant_id = c.tenant_id AND gb.building_id = c.area_id ORDER BY g.name LIMIT 1),
    'community', (SELECT json_build_object('name', m.name) FROM areas m
                  WHERE m.tenant_id = c.tenant_id AND m.id = c.community_id),
    'timeline', (SELECT coalesce(json_agg(json_build_object('seq', e.seq, 'action', e.action,
                   'toState', e.to_state, 'at', e.created_at) ORDER BY e.seq), '[]')
                 FROM (SELECT * FROM case_events e WHERE e.tenant_id = c.tenant_id AND e.case_id = c.id
                       ORDER BY e.seq DESC LIMIT 3) e)) AS x
  -- the community id as a column of the page: under RLS only a plain comparison can use an index
  FROM (SELECT *, nullif(split_part(area_path, '/', 3), '')::uuid AS community_id FROM cases
        WHERE state IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened')
        ORDER BY id DESC LIMIT 50) c
) s;
COMMIT;
