SELECT tested.*
FROM "public"."stg_segment_events" AS tested
WHERE NOT coalesce((user_id IS NOT NULL OR anonymous_id IS NOT NULL), false);
