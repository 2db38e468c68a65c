CREATE VIEW "analytics"."stg_segment_deletes" AS
SELECT DISTINCT ON (e.user_id)
  e.user_id,
  e.message_id,
  coalesce(e.event_timestamp, e.received_at) AS requested_at
FROM "analytics"."stg_segment_events" AS e
WHERE e.event_type = 'delete' AND e.user_id IS NOT NULL
ORDER BY e.user_id, coalesce(e.event_timestamp, e.received_at);
