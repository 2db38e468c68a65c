SELECT tested.*
FROM "analytics"."stg_segment_events" AS tested
WHERE NOT coalesce((body->>'timestamp' IS NULL OR event_timestamp IS NOT NULL), false);
