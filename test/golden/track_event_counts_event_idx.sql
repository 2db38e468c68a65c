CREATE INDEX "track_event_counts_event_idx" IN CLUSTER "quickstart" ON "public"."track_event_counts" ("event");
