EXECUTE UNIT TEST user_profiles_keep_the_latest_identify
FOR "analytics"."user_profiles"
MOCK "analytics"."stg_segment_identifies"(message_id text, user_id text, email text, name text, traits jsonb, event_timestamp timestamp, received_at timestamp, ...) AS (
  SELECT * FROM (VALUES
    ('i1', 'u1', 'ada@example.com', 'Ada', '{"email": "ada@example.com", "name": "Ada"}'::jsonb, '2026-11-20 10:00'::timestamp, '2026-11-20 10:00:01'::timestamp),
    -- Sent later, delivered first: its event timestamp orders it after i1 anyway.
    ('i2', 'u1', NULL, NULL, '{}'::jsonb, '2026-11-21 09:00'::timestamp, '2026-11-20 09:00'::timestamp),
    -- Sent before i1, arriving last: it does not win.
    ('i3', 'u1', 'old@example.com', 'Old', '{"email": "old@example.com"}'::jsonb, '2026-11-19 08:00'::timestamp, '2026-11-22 08:00'::timestamp)
  ) AS v
),
MOCK "analytics"."stg_segment_deletes"(user_id text, message_id text, requested_at timestamp) AS (
  SELECT NULL::text, NULL::text, NULL::timestamp WHERE false
)
EXPECTED(user_id text, email text, name text, first_name text, last_name text, phone text, company_name text, created_at timestamp, traits jsonb, updated_at timestamp) AS (
  SELECT 'u1', NULL, NULL, NULL, NULL, NULL, NULL, NULL::timestamp, '{}'::jsonb, '2026-11-21 09:00'::timestamp
);

-- The mart's promise (its description): the latest identify, whole. Traits are not merged across
-- calls, so an identify without traits (a server-side identify(userId) at login, say) does erase
-- the traits sent before: email, name and traits come back empty. Segment's own profiles merge
-- traits; a mart that should must say so in its description, and this test with it.;
