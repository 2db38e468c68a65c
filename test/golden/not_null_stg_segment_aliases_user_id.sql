SELECT tested.*
FROM "analytics"."stg_segment_aliases" AS tested
WHERE tested."user_id" IS NULL;
