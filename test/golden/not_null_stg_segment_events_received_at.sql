SELECT tested.*
FROM "public"."stg_segment_events" AS tested
WHERE tested."received_at" IS NULL;
