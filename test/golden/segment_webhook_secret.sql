CREATE SECRET IF NOT EXISTS "public"."segment_webhook_secret" AS :'SEGMENT_WEBHOOK_SECRET';
