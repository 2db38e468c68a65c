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
WHERE e.event_type = 'identify';

-- A unit test from real payloads (npm run models:test -- --select kind:unit): the mock's rows are
-- the Segment events of tests/fixtures/identify_events.json, each column taken from the event as
-- docs/testing.md says (body: the event; message_id ← messageId; event_type ← type; …). This is
-- this project's FROM FILE extension: target/compiled/<test>.sql holds the plain mz-deploy form.
-- Only identifies are parsed, reserved traits become columns, and one without traits has none.
EXECUTE UNIT TEST identifies_parse_spec_traits_from_payloads
FOR {{ref.stg_segment_identifies}}
MOCK {{ref.stg_segment_events}}(message_id text, event_type text, user_id text, anonymous_id text, received_at timestamp, event_timestamp timestamp, body jsonb)
  FROM FILE 'tests/fixtures/identify_events.json'
EXPECTED(message_id text, user_id text, email text, name text, first_name text, last_name text, company_name text, address_city text, created_at timestamp, context_library_name text, ...) AS (
  SELECT * FROM (VALUES
    ('ajs-identify-0001', 'user-grace', 'grace@example.com', 'Grace Hopper', 'Grace', 'Hopper', 'Navy', 'Arlington', '2026-01-15 08:30:00'::timestamp, 'analytics.js'),
    ('node-identify-0002', 'user-alan', NULL, NULL, NULL, NULL, NULL, NULL, NULL::timestamp, 'analytics-node')
  ) AS v
);
