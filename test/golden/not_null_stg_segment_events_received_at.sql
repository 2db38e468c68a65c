SELECT tested.*
FROM "analytics"."stg_segment_events" AS tested
WHERE tested."received_at" IS NULL;
