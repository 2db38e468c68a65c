SELECT tested.*
FROM "public"."stg_segment_tracks" AS tested
WHERE tested."event" IS NULL;
