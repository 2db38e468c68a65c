CREATE INDEX "track_event_counts_event_idx" IN CLUSTER "analytics_cluster" ON "analytics"."track_event_counts" ("event");
