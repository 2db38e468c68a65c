SELECT tested.*
FROM "analytics"."stg_segment_tracks" AS tested
WHERE tested."event" IS NULL;
