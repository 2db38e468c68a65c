SELECT tested.*
FROM "analytics"."stg_segment_groups" AS tested
WHERE tested."group_id" IS NULL;
