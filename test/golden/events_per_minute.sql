CREATE MATERIALIZED VIEW "analytics"."events_per_minute"
  IN CLUSTER "analytics_cluster" AS
-- A temporal filter: each event counts while mz_now() is within the window after it was
-- received, then Materialize retracts it, so the view stays small however long it runs.
SELECT
  date_trunc('minute', e.received_at) AS minute,
  e.event_type,
  count(*) AS events
FROM "analytics"."stg_segment_events" AS e
WHERE mz_now() <= e.received_at + INTERVAL '60 minutes'
  AND e.event_type <> 'delete'
  AND NOT EXISTS (
        SELECT 1 FROM "analytics"."stg_segment_deletes" AS deleted
        WHERE deleted.user_id = e.user_id
      )
GROUP BY 1, 2;
