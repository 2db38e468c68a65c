CREATE MATERIALIZED VIEW "analytics"."user_profiles"
  IN CLUSTER "analytics_cluster" AS
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
FROM "analytics"."stg_segment_identifies" AS e
WHERE e.user_id IS NOT NULL
  -- Computed traits this project identifies back to Segment (activations/*.yml: every call carries
  -- context.materialize) come back through the function as identifies; they are not the person's
  -- own profile, and would replace it as the latest identify.
  AND e.context->'materialize' IS NULL
  AND NOT EXISTS (
        SELECT 1 FROM "analytics"."stg_segment_deletes" AS deleted
        WHERE deleted.user_id = e.user_id
      )
ORDER BY e.user_id, coalesce(e.event_timestamp, e.received_at) DESC NULLS LAST, e.message_id;
