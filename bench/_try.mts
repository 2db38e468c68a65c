import { runMaterializedViewsBench } from './materialized-views.ts';
await runMaterializedViewsBench();
