CREATE CLUSTER "analytics_cluster" (SIZE = '25cc');
