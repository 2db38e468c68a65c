import { runLocalServerBench } from './local-server.ts';
await runLocalServerBench();
