-- PostGraphile's side of the benchmark, applied by bench/compare.py to a BENCH database only
-- (never a migration): a login role subject to RLS, column grants exposing the masked person fields
-- only, restrictive policies expressing the scope rules gongzhi applies to the bench actors
-- (policies/defaults.csv, policies/filters.py), and the SQL functions a PostGraphile user would
-- write for what the generated CRUD schema cannot say (open-state filter, statistics, reporting).
--
-- Per request PostGraphile sets, from the verified JWT (graphile.config.mjs → pgSettings):
--   app.tenant_id   the tenant (the migrations' tenant_isolation policy reads it)
--   app.user_id     the user (sub)
--   app.role        the acting role: street_admin | party_secretary | grid_leader | property_firm
--   app.scope_path  the materialized path of the role's scope area
--   app.firm_id     the property firm (property_firm only)
-- Rules expressed (the bench actors' grants; others see nothing through these policies):
--   street_admin: everything of the tenant.
--   party_secretary / grid_leader ("scope"): areas in the scope's subtree, its ancestors and the
--     buildings covered by grids in the scope; households/persons in those buildings; cases whose
--     area path is under the scope or whose building a grid in scope covers, and their own reports;
--     care tags (person · read_pii · scope).
--   property_firm ("served"/"assigned"): areas in and above the compounds the firm serves today;
--     households/persons in them; cases there or assigned to the firm; no care tags, no PII.

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gongzhi_bench_pgl') THEN
    CREATE ROLE gongzhi_bench_pgl LOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END $$;

CREATE SCHEMA IF NOT EXISTS bench_private;
REVOKE ALL ON SCHEMA bench_private FROM PUBLIC;
GRANT USAGE ON SCHEMA bench_private TO gongzhi_bench_pgl;
GRANT USAGE ON SCHEMA public TO gongzhi_bench_pgl;

-- Table privileges: read what the operations read; write what reporting writes.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM gongzhi_bench_pgl;
GRANT SELECT ON areas, grid_buildings, property_firms, service_contracts, households, person_care_tags,
  cases, case_events, case_categories, sla_rules, care_tag_kinds TO gongzhi_bench_pgl;
GRANT SELECT (id, username, display_name) ON users TO gongzhi_bench_pgl;
-- Persons: no sealed column, no blind index, no birth date — the masked display forms only.
GRANT SELECT (tenant_id, id, created_at, household_id, name, gender, relation_to_head, party_member,
  in_service_party_member, version, id_card_masked, phone_masked) ON persons TO gongzhi_bench_pgl;
GRANT INSERT ON cases, case_events, audit_log TO gongzhi_bench_pgl;

-- Smart tags: users are a platform table without a foreign key from cases; name the relation.
-- Writes go through report_case() only: no generated create/update/delete mutations.
COMMENT ON TABLE cases IS E'@foreignKey (reporter_user_id) references users (id)|@fieldName reporter\n@behavior -insert -update -delete';
COMMENT ON TABLE case_events IS E'@behavior -insert -update -delete';
COMMENT ON TABLE audit_log IS E'@behavior -*';
-- The room number is part of the exact address: masked (***) for roles without person · read_pii,
-- as gongzhi's Household.room; exposed only through households_room().
COMMENT ON COLUMN households.room IS E'@behavior -*';
COMMENT ON COLUMN persons.id_card_no IS E'@behavior -*';
COMMENT ON COLUMN persons.phone IS E'@behavior -*';
COMMENT ON COLUMN persons.id_card_index IS E'@behavior -*';
COMMENT ON COLUMN persons.phone_index IS E'@behavior -*';
COMMENT ON COLUMN persons.birth_date IS E'@behavior -*';

-- Helpers (SECURITY DEFINER: they read the area tree without recursing into its own policy).
CREATE OR REPLACE FUNCTION bench_private.setting(name text) RETURNS text
  LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting(name, true), '') $$;

CREATE OR REPLACE FUNCTION bench_private.scope_grid_buildings() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT gb.building_id FROM grid_buildings gb
  JOIN areas g ON g.tenant_id = gb.tenant_id AND g.id = gb.grid_id
  WHERE gb.tenant_id = bench_private.setting('app.tenant_id')::uuid
    AND g.path LIKE bench_private.setting('app.scope_path') || '%'
$$;

CREATE OR REPLACE FUNCTION bench_private.served_paths() RETURNS SETOF text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT c.path FROM service_contracts sc
  JOIN areas c ON c.tenant_id = sc.tenant_id AND c.id = sc.compound_id
  WHERE sc.tenant_id = bench_private.setting('app.tenant_id')::uuid
    AND sc.firm_id = bench_private.setting('app.firm_id')::uuid
    AND sc.valid_from <= current_date AND (sc.valid_until IS NULL OR sc.valid_until >= current_date)
$$;

-- Buildings (and other areas) whose households the actor reaches.
CREATE OR REPLACE FUNCTION bench_private.reach_area_ids() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT a.id FROM areas a
  WHERE a.tenant_id = bench_private.setting('app.tenant_id')::uuid
    AND bench_private.setting('app.role') IN ('party_secretary', 'grid_leader')
    AND a.path LIKE bench_private.setting('app.scope_path') || '%'
  UNION
  SELECT b FROM bench_private.scope_grid_buildings() b
  WHERE bench_private.setting('app.role') IN ('party_secretary', 'grid_leader')
  UNION
  SELECT a.id FROM areas a JOIN bench_private.served_paths() p ON a.path LIKE p || '%'
  WHERE a.tenant_id = bench_private.setting('app.tenant_id')::uuid
    AND bench_private.setting('app.role') = 'property_firm'
$$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA bench_private TO gongzhi_bench_pgl;

-- Restrictive policies: AND-ed with tenant_isolation, for the PostGraphile role only.
DROP POLICY IF EXISTS pgl_scope ON areas;
CREATE POLICY pgl_scope ON areas AS RESTRICTIVE FOR SELECT TO gongzhi_bench_pgl USING (
  bench_private.setting('app.role') = 'street_admin'
  OR (bench_private.setting('app.role') IN ('party_secretary', 'grid_leader') AND (
        path LIKE bench_private.setting('app.scope_path') || '%'
        OR bench_private.setting('app.scope_path') LIKE path || '%'
        OR id IN (SELECT bench_private.scope_grid_buildings())))
  OR (bench_private.setting('app.role') = 'property_firm' AND EXISTS (
        SELECT 1 FROM bench_private.served_paths() p WHERE path LIKE p || '%' OR p LIKE path || '%'))
);

DROP POLICY IF EXISTS pgl_scope ON households;
CREATE POLICY pgl_scope ON households AS RESTRICTIVE FOR SELECT TO gongzhi_bench_pgl USING (
  bench_private.setting('app.role') = 'street_admin'
  OR building_id IN (SELECT bench_private.reach_area_ids())
);

DROP POLICY IF EXISTS pgl_scope ON persons;
CREATE POLICY pgl_scope ON persons AS RESTRICTIVE FOR SELECT TO gongzhi_bench_pgl USING (
  bench_private.setting('app.role') = 'street_admin'
  OR EXISTS (SELECT 1 FROM households h  -- the household's own policy applies
             WHERE h.tenant_id = persons.tenant_id AND h.id = persons.household_id)
);

-- Care tags are personal data: only with person · read_pii (grid leader and up, in scope).
DROP POLICY IF EXISTS pgl_scope ON person_care_tags;
CREATE POLICY pgl_scope ON person_care_tags AS RESTRICTIVE FOR SELECT TO gongzhi_bench_pgl USING (
  bench_private.setting('app.role') = 'street_admin'
  OR (bench_private.setting('app.role') IN ('party_secretary', 'grid_leader')
      AND EXISTS (SELECT 1 FROM persons p
                  WHERE p.tenant_id = person_care_tags.tenant_id AND p.id = person_care_tags.person_id))
);

DROP POLICY IF EXISTS pgl_scope ON cases;
CREATE POLICY pgl_scope ON cases AS RESTRICTIVE FOR SELECT TO gongzhi_bench_pgl USING (
  bench_private.setting('app.role') = 'street_admin'
  OR reporter_user_id = bench_private.setting('app.user_id')::uuid
  OR (bench_private.setting('app.role') IN ('party_secretary', 'grid_leader') AND (
        area_path LIKE bench_private.setting('app.scope_path') || '%'
        OR area_id IN (SELECT bench_private.scope_grid_buildings())))
  OR (bench_private.setting('app.role') = 'property_firm' AND (
        handler_firm_id = bench_private.setting('app.firm_id')::uuid
        OR area_id IN (SELECT bench_private.reach_area_ids())))
);

DROP POLICY IF EXISTS pgl_scope ON case_events;
CREATE POLICY pgl_scope ON case_events AS RESTRICTIVE FOR SELECT TO gongzhi_bench_pgl USING (
  bench_private.setting('app.role') = 'street_admin'
  OR EXISTS (SELECT 1 FROM cases c WHERE c.tenant_id = case_events.tenant_id AND c.id = case_events.case_id)
);

CREATE OR REPLACE FUNCTION households_room(h households) RETURNS text
  LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN bench_private.setting('app.role') IN ('street_admin', 'party_secretary', 'grid_leader')
              THEN h.room ELSE '***' END
$$;
GRANT EXECUTE ON FUNCTION households_room(households) TO gongzhi_bench_pgl;

-- (1) The open-state filter: the generated CRUD schema has equality conditions only.
CREATE OR REPLACE FUNCTION open_cases() RETURNS SETOF cases
  LANGUAGE sql STABLE AS $$
  SELECT * FROM cases WHERE state IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened')
  ORDER BY id DESC
$$;
COMMENT ON FUNCTION open_cases() IS E'@sortable';

-- (3) Statistics of the cases reported in an area (subtree or grid-covered buildings) between two
-- local dates, inclusive — resolvers/cases.py statistics(); RLS restricts to the actor's reach.
CREATE OR REPLACE FUNCTION case_statistics(area_id uuid, date_from date, date_to date) RETURNS jsonb
  LANGUAGE sql STABLE AS $$
  WITH a AS (SELECT path FROM areas WHERE id = case_statistics.area_id),
  c AS (
    -- satisfied: the counted verdict of resolvers/cases/verdicts.py (a resident's own, or one relayed at
    -- 回访 unless the case was closed again after it; never staff's feedback on their own report)
    SELECT k.state, k.category_code, k.created_at, k.due_at, k.resolved_at, k.reopen_count,
           CASE WHEN k.callback_result IN ('satisfied', 'basically_satisfied', 'unsatisfied', 'not_solved')
                     AND k.callback_at IS NOT NULL AND (k.closed_at IS NULL OR k.callback_at >= k.closed_at)
                THEN k.callback_result IN ('satisfied', 'basically_satisfied')
                WHEN k.satisfied IS NOT NULL AND k.reporter_role IN ('neighbor_lead', 'resident')
                THEN k.satisfied END AS satisfied
    FROM cases k, a
    WHERE (k.area_path LIKE a.path || '%'
           OR k.area_id IN (SELECT gb.building_id FROM grid_buildings gb
                            JOIN areas g ON g.tenant_id = gb.tenant_id AND g.id = gb.grid_id
                            WHERE g.path LIKE a.path || '%'))
      AND k.created_at >= (date_from::timestamp AT TIME ZONE 'Asia/Shanghai')
      AND k.created_at < ((date_to + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
  ),
  h AS (SELECT extract(epoch FROM resolved_at - created_at) / 3600 AS hours FROM c WHERE resolved_at IS NOT NULL)
  SELECT jsonb_build_object(
    'total', (SELECT count(*) FROM c),
    'byState', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', state, 'count', n) ORDER BY state), '[]')
                FROM (SELECT state, count(*) n FROM c GROUP BY state) s),
    'byCategory', (SELECT coalesce(jsonb_agg(jsonb_build_object('key', category_code, 'count', n)
                                             ORDER BY category_code), '[]')
                   FROM (SELECT category_code, count(*) n FROM c GROUP BY category_code) s),
    'resolved', (SELECT count(*) FROM h),
    'resolvedOnTime', (SELECT count(*) FROM c WHERE resolved_at IS NOT NULL AND due_at IS NOT NULL
                       AND resolved_at <= due_at),
    'onTimeRate', (SELECT count(*) FILTER (WHERE resolved_at <= due_at)::float / NULLIF(count(*), 0)
                   FROM c WHERE resolved_at IS NOT NULL AND due_at IS NOT NULL),
    'meanHandlingHours', (SELECT round(avg(hours)::numeric, 2) FROM h),
    'medianHandlingHours', (SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY hours))::numeric, 2) FROM h),
    'withFeedback', (SELECT count(*) FROM c WHERE satisfied IS NOT NULL),
    'satisfied', (SELECT count(*) FROM c WHERE satisfied),
    'satisfactionRate', (SELECT count(*) FILTER (WHERE satisfied)::float / NULLIF(count(*), 0)
                         FROM c WHERE satisfied IS NOT NULL),
    'reopened', (SELECT count(*) FROM c WHERE reopen_count > 0),
    'openOverdue', (SELECT count(*) FROM c WHERE resolved_at IS NULL AND due_at < now()
                    AND state IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened'))
  )
$$;

-- (4) Report a case: validation, reach check, idempotency, the case, its first timeline entry and
-- an audit row — what gongzhi's reportCase writes (SLA due time from the tenant's rules, in
-- calendar hours: the working calendar lives in Python).
CREATE OR REPLACE FUNCTION report_case(area_id uuid, category text, title text, priority text,
                                       idempotency_key text) RETURNS cases
  LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  t uuid := bench_private.setting('app.tenant_id')::uuid;
  u uuid := bench_private.setting('app.user_id')::uuid;
  r text := bench_private.setting('app.role');
  a areas;
  result cases;
  due interval;
BEGIN
  SELECT * INTO result FROM cases
   WHERE reporter_user_id = u AND cases.idempotency_key = report_case.idempotency_key;
  IF FOUND THEN RETURN result; END IF;
  IF length(title) NOT BETWEEN 1 AND 100 THEN RAISE EXCEPTION 'title must be 1–100 characters'; END IF;
  IF priority NOT IN ('low', 'normal', 'high', 'urgent') THEN RAISE EXCEPTION 'unknown priority'; END IF;
  PERFORM 1 FROM case_categories WHERE code = category AND active;
  IF NOT FOUND THEN RAISE EXCEPTION 'unknown case category %', category; END IF;
  SELECT * INTO a FROM areas WHERE id = report_case.area_id;
  IF NOT FOUND THEN RAISE EXCEPTION 'area not found'; END IF;
  IF NOT (r = 'street_admin' OR a.id IN (SELECT bench_private.reach_area_ids())) THEN
    RAISE EXCEPTION 'you may not report cases in this area';
  END IF;
  SELECT CASE s.unit WHEN 'working_days' THEN s.amount * interval '1 day' ELSE s.amount * interval '1 hour' END
    INTO due FROM sla_rules s
   WHERE s.priority = report_case.priority AND (s.category_code = category OR s.category_code IS NULL)
   ORDER BY s.category_code NULLS LAST LIMIT 1;
  INSERT INTO cases (tenant_id, id, created_at, number, area_id, area_path, category_code, priority, title,
                     description, state, reporter_user_id, reporter_role, on_wall, idempotency_key, supervised,
                     reopen_count, version, updated_at, due_at)
  VALUES (t, gen_random_uuid(), now(), to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' ||
          upper(substr(md5(random()::text || clock_timestamp()::text), 1, 14)), a.id, a.path, category, priority, title, '', 'reported', u,
          r, false, idempotency_key, false, 0, 1, now(), now() + due)
  RETURNING * INTO result;
  INSERT INTO case_events (tenant_id, id, created_at, case_id, seq, action, from_state, to_state, actor_user_id,
                           actor_role, attachments, detail)
  VALUES (t, gen_random_uuid(), now(), result.id, 1, 'report', NULL, 'reported', u, r, '[]', '{}');
  INSERT INTO audit_log (tenant_id, id, created_at, user_id, roles, action, object_type, object_ids, detail,
                         area_path)
  VALUES (t, gen_random_uuid(), now(), u, r, 'reportCase', 'case', jsonb_build_array(result.id::text)::json,
          '{}', a.path);
  RETURN result;
END $$;

GRANT EXECUTE ON FUNCTION open_cases(), case_statistics(uuid, date, date),
  report_case(uuid, text, text, text, text) TO gongzhi_bench_pgl;
