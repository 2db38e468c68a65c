SELECT tested.*
FROM "public"."stg_segment_events" AS tested
WHERE tested."event_type" IS NULL;
