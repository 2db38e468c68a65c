SELECT tested.*
FROM "public"."stg_segment_groups" AS tested
WHERE tested."group_id" IS NULL;
