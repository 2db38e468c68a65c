CREATE MATERIALIZED VIEW "analytics"."track_event_counts"
  IN CLUSTER "analytics_cluster" AS
SELECT
  e.event,
  count(*) AS events,
  count(DISTINCT coalesce(e.user_id, e.anonymous_id)) AS people,
  max(coalesce(e.event_timestamp, e.received_at)) AS last_seen_at
FROM "analytics"."stg_segment_tracks" AS e
WHERE e.event IS NOT NULL
  AND NOT EXISTS (
        SELECT 1 FROM "analytics"."stg_segment_deletes" AS deleted
        WHERE deleted.user_id = e.user_id
      )
GROUP BY 1;
