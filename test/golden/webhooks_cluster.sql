CREATE CLUSTER "webhooks_cluster" (SIZE = '25cc');
