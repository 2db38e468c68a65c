---
kind: cluster
description: Compute for ingestion, kept apart from the clusters that serve queries
---
(SIZE = '{{vars.webhooks_cluster_size}}')
