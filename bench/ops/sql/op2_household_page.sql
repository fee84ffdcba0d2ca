-- (2) 50 households of a building with persons (masked columns only) and care tags, one statement,
-- as the property firm actor (RLS: no care tags for it).
BEGIN;
SELECT set_config('app.tenant_id', '{{tenant_id}}', true), set_config('app.user_id', '{{user_id}}', true),
       set_config('app.role', '{{role}}', true), set_config('app.scope_path', '{{scope_path}}', true),
       set_config('app.firm_id', '{{firm_id}}', true);
SELECT json_build_object('data', json_build_object('households', json_build_object('nodes',
  coalesce(json_agg(s.x ORDER BY s.id), '[]'))))
FROM (
  SELECT h.id, json_build_object('id', h.id, 'unit', h.unit, 'room', CASE WHEN current_setting('app.role') IN ('street_admin', 'party_secretary', 'grid_leader')
                                  THEN h.room ELSE '***' END, 'persons',
    (SELECT coalesce(json_agg(json_build_object('id', p.id, 'name', p.name, 'gender', p.gender,
               'idCardNo', p.id_card_masked, 'phone', p.phone_masked,
               'careTags', (SELECT json_agg(t.code ORDER BY t.code) FROM person_care_tags t
                            WHERE t.tenant_id = p.tenant_id AND t.person_id = p.id)) ORDER BY p.id), '[]')
     FROM persons p WHERE p.tenant_id = h.tenant_id AND p.household_id = h.id)) AS x
  FROM households h WHERE h.building_id = '{{building_id}}' ORDER BY h.id LIMIT 50
) s;
COMMIT;
