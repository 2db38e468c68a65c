---
description: Compute for the dedup view, the marts and their indexes; swapped with its copy by blue/green deploys
---
(SIZE = '{{vars.analytics_cluster_size}}')
