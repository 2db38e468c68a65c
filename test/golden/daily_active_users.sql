CREATE MATERIALIZED VIEW "analytics"."daily_active_users"
  IN CLUSTER "analytics_cluster" AS
SELECT
  CAST(date_trunc('day', coalesce(e.event_timestamp, e.received_at)) AS date) AS day,
  count(DISTINCT coalesce(e.user_id, e.anonymous_id)) AS active_users,
  count(*) AS events
FROM "analytics"."stg_segment_events" AS e
WHERE e.event_type IN ('track', 'page', 'screen', 'identify', 'group')
  AND coalesce(e.user_id, e.anonymous_id) IS NOT NULL
  AND coalesce(e.event_timestamp, e.received_at) IS NOT NULL
  AND NOT EXISTS (
        SELECT 1 FROM "analytics"."stg_segment_deletes" AS deleted
        WHERE deleted.user_id = e.user_id
      )
GROUP BY 1;
