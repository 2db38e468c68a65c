EXECUTE UNIT TEST user_profiles_leave_out_deleted_users
FOR "analytics"."user_profiles"
MOCK "analytics"."stg_segment_identifies"(message_id text, user_id text, email text, received_at timestamp, ...) AS (
  SELECT * FROM (VALUES
    ('i1', 'u1', 'ada@example.com', '2026-11-20 10:00'::timestamp),
    ('i2', 'u2', 'bob@example.com', '2026-11-20 10:00'::timestamp),
    ('i3', 'u2', 'bob@new.example.com', '2026-11-21 10:00'::timestamp)
  ) AS v
),
MOCK "analytics"."stg_segment_deletes"(user_id text, message_id text, requested_at timestamp) AS (
  SELECT 'u2', 'd1', '2026-11-20 12:00'::timestamp
)
EXPECTED(user_id text, email text, name text, first_name text, last_name text, phone text, company_name text, created_at timestamp, traits jsonb, updated_at timestamp) AS (
  SELECT 'u1', 'ada@example.com', NULL, NULL, NULL, NULL, NULL, NULL::timestamp, NULL::jsonb, '2026-11-20 10:00'::timestamp
);

-- The latest identify wins as a whole, by the event's own timestamp (receive time when it has
-- none), not by arrival.;
