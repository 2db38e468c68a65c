---
description: Identify calls, with the Spec's reserved traits as columns and all traits as jsonb
---
SELECT
  {{> segment_common_columns}}
  e.body->'traits'->>'email' AS email,
  e.body->'traits'->>'name' AS name,
  e.body->'traits'->>'firstName' AS first_name,
  e.body->'traits'->>'lastName' AS last_name,
  e.body->'traits'->>'username' AS username,
  e.body->'traits'->>'phone' AS phone,
  e.body->'traits'->>'title' AS title,
  e.body->'traits'->>'website' AS website,
  e.body->'traits'->'company'->>'name' AS company_name,
  e.body->'traits'->'address'->>'city' AS address_city,
  e.body->'traits'->'address'->>'country' AS address_country,
  try_parse_monotonic_iso8601_timestamp(e.body->'traits'->>'createdAt') AS created_at,
  e.body->'traits' AS traits
FROM {{ref.stg_segment_events}} AS e
WHERE e.event_type = 'identify'
