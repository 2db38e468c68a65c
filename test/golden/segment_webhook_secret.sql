CREATE SECRET IF NOT EXISTS "segment"."segment_webhook_secret" AS :'SEGMENT_WEBHOOK_SECRET';
