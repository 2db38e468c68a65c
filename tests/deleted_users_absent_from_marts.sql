---
# Stored failures (store_failures) go to analytics_tests, on the marts' cluster.
schema: analytics
cluster: analytics_cluster
description: Users who asked to be deleted (Segment delete calls) appear in no mart
---
-- A failing row names the mart and the user still in it.
SELECT 'user_profiles' AS mart, p.user_id
FROM {{ref.user_profiles}} AS p
WHERE EXISTS (SELECT 1 FROM {{ref.stg_segment_deletes}} AS deleted WHERE deleted.user_id = p.user_id)
UNION ALL
SELECT 'high_value_customers' AS mart, h.user_id
FROM {{ref.high_value_customers}} AS h
WHERE EXISTS (SELECT 1 FROM {{ref.stg_segment_deletes}} AS deleted WHERE deleted.user_id = h.user_id)
