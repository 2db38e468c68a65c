CREATE INDEX "events_per_minute_minute_idx" IN CLUSTER "quickstart" ON "public"."events_per_minute" ("minute");
