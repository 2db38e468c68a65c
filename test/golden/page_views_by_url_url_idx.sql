CREATE INDEX "page_views_by_url_url_idx" IN CLUSTER "analytics_cluster" ON "analytics"."page_views_by_url" ("url");
