SELECT tested."user_id" AS "user_id", count(*) AS occurrences
FROM "analytics"."user_profiles" AS tested
WHERE tested."user_id" IS NOT NULL
GROUP BY tested."user_id"
HAVING count(*) > 1;
