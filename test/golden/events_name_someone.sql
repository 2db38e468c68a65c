SELECT tested.*
FROM "analytics"."stg_segment_events" AS tested
WHERE NOT coalesce((user_id IS NOT NULL OR anonymous_id IS NOT NULL), false);
