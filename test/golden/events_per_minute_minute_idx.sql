CREATE INDEX "events_per_minute_minute_idx" IN CLUSTER "analytics_cluster" ON "analytics"."events_per_minute" ("minute");
