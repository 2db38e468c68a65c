EXECUTE UNIT TEST identifies_parse_spec_traits_from_payloads
FOR "analytics"."stg_segment_identifies"
MOCK "analytics"."stg_segment_events"(message_id text, event_type text, user_id text, anonymous_id text, received_at timestamp, event_timestamp timestamp, body jsonb)
  AS (
SELECT * FROM (VALUES
    ('ajs-identify-0001'::text, 'identify'::text, 'user-grace'::text, 'anon-7f3a'::text, '2026-11-20T10:00:01.250Z'::timestamp, '2026-11-20T10:00:00.900Z'::timestamp, '{"anonymousId":"anon-7f3a","context":{"ip":"203.0.113.7","library":{"name":"analytics.js","version":"2.11.1"},"locale":"en-GB"},"messageId":"ajs-identify-0001","receivedAt":"2026-11-20T10:00:01.250Z","sentAt":"2026-11-20T10:00:01.000Z","timestamp":"2026-11-20T10:00:00.900Z","traits":{"email":"grace@example.com","name":"Grace Hopper","firstName":"Grace","lastName":"Hopper","company":{"name":"Navy","industry":"Defense"},"address":{"city":"Arlington","country":"US"},"createdAt":"2026-01-15T08:30:00.000Z"},"type":"identify","userId":"user-grace","version":2}'::jsonb),
    ('node-identify-0002'::text, 'identify'::text, 'user-alan'::text, NULL::text, '2026-11-20T11:00:00.000Z'::timestamp, '2026-11-20T11:00:00.000Z'::timestamp, '{"context":{"library":{"name":"analytics-node","version":"3.1.0"}},"messageId":"node-identify-0002","receivedAt":"2026-11-20T11:00:00.000Z","timestamp":"2026-11-20T11:00:00.000Z","type":"identify","userId":"user-alan"}'::jsonb),
    ('ajs-track-0003'::text, 'track'::text, 'user-grace'::text, 'anon-7f3a'::text, '2026-11-20T10:00:02.000Z'::timestamp, '2026-11-20T10:00:01.900Z'::timestamp, '{"anonymousId":"anon-7f3a","event":"Signed Up","messageId":"ajs-track-0003","properties":{"plan":"pro"},"receivedAt":"2026-11-20T10:00:02.000Z","timestamp":"2026-11-20T10:00:01.900Z","type":"track","userId":"user-grace"}'::jsonb)
  ) AS v(message_id, event_type, user_id, anonymous_id, received_at, event_timestamp, body)
)
EXPECTED(message_id text, user_id text, email text, name text, first_name text, last_name text, company_name text, address_city text, created_at timestamp, context_library_name text, ...) AS (
  SELECT * FROM (VALUES
    ('ajs-identify-0001', 'user-grace', 'grace@example.com', 'Grace Hopper', 'Grace', 'Hopper', 'Navy', 'Arlington', '2026-01-15 08:30:00'::timestamp, 'analytics.js'),
    ('node-identify-0002', 'user-alan', NULL, NULL, NULL, NULL, NULL, NULL, NULL::timestamp, 'analytics-node')
  ) AS v
);
