CREATE SOURCE "segment"."segment_source"
  IN CLUSTER "webhooks_cluster"
-- JSON ARRAY: a batch (a JSON array of events) becomes one row per event, and a lone event object
-- is one row, so the function may post single events and batches to the same URL.
-- The CHECK verifies X-Signature, the hex HMAC-SHA1 of the exact body bytes, in constant time.
FROM WEBHOOK
  BODY FORMAT JSON ARRAY
  INCLUDE HEADER 'event-type' AS event_type
  INCLUDE HEADERS
  CHECK (
    WITH (
      BODY BYTES,
      HEADERS,
      SECRET "segment"."segment_webhook_secret" BYTES AS validation_secret
    )
    constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, validation_secret, 'sha1'))
  );
