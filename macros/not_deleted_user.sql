NOT EXISTS (
  SELECT 1 FROM {{ref.stg_segment_deletes}} AS deleted
  WHERE deleted.user_id = e.user_id
)
