EXECUTE UNIT TEST user_profiles_identify_without_traits_erases_earlier_traits
FOR "analytics"."user_profiles"
MOCK "analytics"."stg_segment_identifies"(message_id text, user_id text, email text, name text, traits jsonb, event_timestamp timestamp, received_at timestamp, ...) AS (
  SELECT * FROM (VALUES
    ('i1', 'u1', 'ada@example.com', 'Ada', '{"email": "ada@example.com", "name": "Ada"}'::jsonb, '2026-11-20 10:00'::timestamp, '2026-11-20 10:00:01'::timestamp),
    ('i2', 'u1', NULL, NULL, NULL::jsonb, '2026-11-21 09:00'::timestamp, '2026-11-21 09:00:01'::timestamp)
  ) AS v
),
MOCK "analytics"."stg_segment_deletes"(user_id text, message_id text, requested_at timestamp) AS (
  SELECT NULL::text, NULL::text, NULL::timestamp WHERE false
)
EXPECTED(user_id text, email text, name text, first_name text, last_name text, phone text, company_name text, created_at timestamp, traits jsonb, updated_at timestamp) AS (
  SELECT 'u1', NULL, NULL, NULL, NULL, NULL, NULL, NULL::timestamp, NULL::jsonb, '2026-11-21 09:00'::timestamp
);
