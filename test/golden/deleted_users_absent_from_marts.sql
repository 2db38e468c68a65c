-- A failing row names the mart and the user still in it.
SELECT 'user_profiles' AS mart, p.user_id
FROM "analytics"."user_profiles" AS p
WHERE EXISTS (SELECT 1 FROM "analytics"."stg_segment_deletes" AS deleted WHERE deleted.user_id = p.user_id)
UNION ALL
SELECT 'high_value_customers' AS mart, h.user_id
FROM "analytics"."high_value_customers" AS h
WHERE EXISTS (SELECT 1 FROM "analytics"."stg_segment_deletes" AS deleted WHERE deleted.user_id = h.user_id);
