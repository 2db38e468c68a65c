SELECT tested.*
FROM "analytics"."stg_segment_aliases" AS tested
WHERE tested."previous_id" IS NULL;
