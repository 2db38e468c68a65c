SELECT tested.*
FROM "analytics"."stg_segment_events" AS tested
WHERE tested."event_type" IS NULL;
