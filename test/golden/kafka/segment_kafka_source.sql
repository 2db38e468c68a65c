CREATE SOURCE "segment"."segment_kafka_source"
  IN CLUSTER "webhooks_cluster"
-- FORMAT BYTES gives one column, data bytea; segment_events_json decodes it.
-- Locally, the dev server's produce endpoint (POST /topics/<topic>) appends messages to this source.
FROM KAFKA CONNECTION "segment"."kafka_connection" (TOPIC 'segment-events')
FORMAT BYTES;
