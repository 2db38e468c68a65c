SELECT tested."user_id" AS "user_id", count(*) AS occurrences
FROM "analytics"."high_value_customers" AS tested
WHERE tested."user_id" IS NOT NULL
GROUP BY tested."user_id"
HAVING count(*) > 1;
