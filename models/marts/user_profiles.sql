---
description: The latest identify of every known user, whole — its traits replace those of earlier identifies (they are not merged, so an identify without traits leaves none)
indexes:
  - columns: [user_id]
tests:
  - unique: user_id
---
SELECT DISTINCT ON (e.user_id)
  e.user_id,
  e.email,
  e.name,
  e.first_name,
  e.last_name,
  e.phone,
  e.company_name,
  e.created_at,
  e.traits,
  coalesce(e.event_timestamp, e.received_at) AS updated_at
FROM {{ref.stg_segment_identifies}} AS e
WHERE e.user_id IS NOT NULL
  -- Computed traits this project identifies back to Segment (activations/*.yml: every call carries
  -- context.materialize) come back through the function as identifies; they are not the person's
  -- own profile, and would replace it as the latest identify.
  AND e.context->'materialize' IS NULL
  AND {{> not_deleted_user}}
ORDER BY e.user_id, coalesce(e.event_timestamp, e.received_at) DESC NULLS LAST, e.message_id;

-- Unit tests (mz-deploy's syntax; never deployed). The mock of stg_segment_identifies ends its
-- column list with `...`: the columns not listed are NULL (this project's shorthand; mz-deploy
-- wants every column declared). stg_segment_deletes is mocked whole.

-- A user who asked to be deleted is left out, even with identifies before and after the request.
EXECUTE UNIT TEST user_profiles_leave_out_deleted_users
FOR {{ref.user_profiles}}
MOCK {{ref.stg_segment_identifies}}(message_id text, user_id text, email text, received_at timestamp, ...) AS (
  SELECT * FROM (VALUES
    ('i1', 'u1', 'ada@example.com', '2026-11-20 10:00'::timestamp),
    ('i2', 'u2', 'bob@example.com', '2026-11-20 10:00'::timestamp),
    ('i3', 'u2', 'bob@new.example.com', '2026-11-21 10:00'::timestamp)
  ) AS v
),
MOCK {{ref.stg_segment_deletes}}(user_id text, message_id text, requested_at timestamp) AS (
  SELECT 'u2', 'd1', '2026-11-20 12:00'::timestamp
)
EXPECTED(user_id text, email text, name text, first_name text, last_name text, phone text, company_name text, created_at timestamp, traits jsonb, updated_at timestamp) AS (
  SELECT 'u1', 'ada@example.com', NULL, NULL, NULL, NULL, NULL, NULL::timestamp, NULL::jsonb, '2026-11-20 10:00'::timestamp
);

-- The latest identify wins as a whole, by the event's own timestamp (receive time when it has
-- none), not by arrival.
EXECUTE UNIT TEST user_profiles_keep_the_latest_identify
FOR {{ref.user_profiles}}
MOCK {{ref.stg_segment_identifies}}(message_id text, user_id text, email text, name text, traits jsonb, event_timestamp timestamp, received_at timestamp, ...) AS (
  SELECT * FROM (VALUES
    ('i1', 'u1', 'ada@example.com', 'Ada', '{"email": "ada@example.com", "name": "Ada"}'::jsonb, '2026-11-20 10:00'::timestamp, '2026-11-20 10:00:01'::timestamp),
    -- Sent later, delivered first: its event timestamp orders it after i1 anyway.
    ('i2', 'u1', NULL, NULL, '{}'::jsonb, '2026-11-21 09:00'::timestamp, '2026-11-20 09:00'::timestamp),
    -- Sent before i1, arriving last: it does not win.
    ('i3', 'u1', 'old@example.com', 'Old', '{"email": "old@example.com"}'::jsonb, '2026-11-19 08:00'::timestamp, '2026-11-22 08:00'::timestamp)
  ) AS v
),
MOCK {{ref.stg_segment_deletes}}(user_id text, message_id text, requested_at timestamp) AS (
  SELECT NULL::text, NULL::text, NULL::timestamp WHERE false
)
EXPECTED(user_id text, email text, name text, first_name text, last_name text, phone text, company_name text, created_at timestamp, traits jsonb, updated_at timestamp) AS (
  SELECT 'u1', NULL, NULL, NULL, NULL, NULL, NULL, NULL::timestamp, '{}'::jsonb, '2026-11-21 09:00'::timestamp
);

-- The mart's promise (its description): the latest identify, whole. Traits are not merged across
-- calls, so an identify without traits (a server-side identify(userId) at login, say) does erase
-- the traits sent before: email, name and traits come back empty. Segment's own profiles merge
-- traits; a mart that should must say so in its description, and this test with it.
EXECUTE UNIT TEST user_profiles_identify_without_traits_erases_earlier_traits
FOR {{ref.user_profiles}}
MOCK {{ref.stg_segment_identifies}}(message_id text, user_id text, email text, name text, traits jsonb, event_timestamp timestamp, received_at timestamp, ...) AS (
  SELECT * FROM (VALUES
    ('i1', 'u1', 'ada@example.com', 'Ada', '{"email": "ada@example.com", "name": "Ada"}'::jsonb, '2026-11-20 10:00'::timestamp, '2026-11-20 10:00:01'::timestamp),
    ('i2', 'u1', NULL, NULL, NULL::jsonb, '2026-11-21 09:00'::timestamp, '2026-11-21 09:00:01'::timestamp)
  ) AS v
),
MOCK {{ref.stg_segment_deletes}}(user_id text, message_id text, requested_at timestamp) AS (
  SELECT NULL::text, NULL::text, NULL::timestamp WHERE false
)
EXPECTED(user_id text, email text, name text, first_name text, last_name text, phone text, company_name text, created_at timestamp, traits jsonb, updated_at timestamp) AS (
  SELECT 'u1', NULL, NULL, NULL, NULL, NULL, NULL, NULL::timestamp, NULL::jsonb, '2026-11-21 09:00'::timestamp
);
