-- A realistic office's volume of cases for the case reads (issue #21), in a copy of the portal mix's
-- database (never the shared one):
--
--   GONGZHI_BENCH_MIX_DB=gongzhi_bench_cases python -m bench.mix --quick --skip-mutations --port 8473
--   GONGZHI_BENCH_MIX_DB=gongzhi_bench_cases python -m bench.inproc reportCase 500   # open cases
--   GONGZHI_BENCH_MIX_DB=gongzhi_bench_cases python -m bench.inproc caseLoop 80      # closed, with feedback
--   psql -U postgres gongzhi_bench_cases -v closed_copies=140 -v open_copies=6 -f bench/grow_cases.sql
--
-- Through the API a case costs ~100-300 ms on a loaded machine (15,000 would take over an hour), so the
-- cases the mutations made are copied in SQL, each with its events and stages, every timestamp of a copy
-- moved back by the same interval: closed cases over the past year (copy k: k*2.6 days back, so about a
-- month's worth falls inside the mix's rate window), open ones over the past 60 days (a backlog: the
-- open-case list's hard case). Numbers get a suffix; idempotency keys are dropped. Run as the owner
-- (postgres bypasses row-level security), then VACUUM ANALYZE.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE src AS
  SELECT c.*, c.state IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened') AS open
  FROM cases c JOIN tenants t ON t.id = c.tenant_id
  WHERE t.slug = 'yanquan' AND (c.state = 'closed' OR c.state = 'reported') AND c.reporter_role = 'resident'
    AND c.idempotency_key IS NOT NULL;  -- the mutations' cases, not the seeded ones
CREATE TEMP TABLE copies AS
  SELECT s.id AS src_id, gen_random_uuid() AS id, k,
         CASE WHEN s.open THEN make_interval(days => (k * 10) % 60, mins => k * 7)
              ELSE make_interval(days => (k * 26 / 10) % 365, mins => k * 7) END AS back
  FROM src s CROSS JOIN LATERAL generate_series(1, CASE WHEN s.open THEN :open_copies ELSE :closed_copies END) k;
INSERT INTO cases (number, area_id, area_path, category_code, priority, title, description, location_text,
  latitude, longitude, state, reporter_user_id, reporter_role, on_wall, idempotency_key, handler_kind,
  handler_firm_id, handler_area_id, handler_name, due_at, accepted_at, dispatched_at, resolved_at, closed_at,
  resolution, reject_reason, supervised, supervised_at, escalated_to_area_id, satisfied, feedback_comment,
  reopen_count, version, updated_at, tenant_id, id, created_at, closure_flagged, return_count, callback_result,
  callback_at, source, external_ticket_no, handler_partner_id)
SELECT s.number || '-' || c.k, s.area_id, s.area_path, s.category_code, s.priority, s.title, s.description,
  s.location_text, s.latitude, s.longitude, s.state, s.reporter_user_id, s.reporter_role, s.on_wall, NULL,
  s.handler_kind, s.handler_firm_id, s.handler_area_id, s.handler_name, s.due_at - c.back,
  s.accepted_at - c.back, s.dispatched_at - c.back, s.resolved_at - c.back, s.closed_at - c.back, s.resolution,
  s.reject_reason, s.supervised, s.supervised_at - c.back, s.escalated_to_area_id, s.satisfied,
  s.feedback_comment, s.reopen_count, s.version, s.updated_at - c.back, s.tenant_id, c.id, s.created_at - c.back,
  s.closure_flagged, s.return_count, s.callback_result, s.callback_at - c.back, s.source, NULL,
  s.handler_partner_id
FROM copies c JOIN src s ON s.id = c.src_id;
INSERT INTO case_events (case_id, seq, action, from_state, to_state, actor_user_id, actor_role, note, attachments,
  detail, tenant_id, id, created_at, idempotency_key)
SELECT c.id, e.seq, e.action, e.from_state, e.to_state, e.actor_user_id, e.actor_role, e.note, e.attachments,
  e.detail, e.tenant_id, gen_random_uuid(), e.created_at - c.back, NULL
FROM copies c JOIN case_events e ON e.case_id = c.src_id;
INSERT INTO case_stages (case_id, seq, stage, started_at, due_at, completed_at, outcome, requested_due_at,
  extensions, overdue_notified_at, tenant_id, id, created_at)
SELECT c.id, g.seq, g.stage, g.started_at - c.back, g.due_at - c.back, g.completed_at - c.back, g.outcome,
  g.requested_due_at - c.back, g.extensions, g.overdue_notified_at - c.back, g.tenant_id, gen_random_uuid(),
  g.created_at - c.back
FROM copies c JOIN case_stages g ON g.case_id = c.src_id;
COMMIT;
VACUUM ANALYZE;  -- as autovacuum would have by then: index-only scans need the visibility map
SELECT c.state, count(*) FROM cases c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = 'yanquan' GROUP BY 1 ORDER BY 2 DESC;
