/** The sections of `npm run bench`, each a function that prints its figures (bench/run.ts runs each in a process of its own). */
import { runCompileBench } from './compile.ts';
import { runDeployBench } from './deploy.ts';
import { runFunctionBench } from './function.ts';
import { runLocalServerBench } from './local-server.ts';
import { runSessionCostBench } from './session-cost.ts';
import { runSubscribeBench } from './subscribe.ts';
import { runMaterializedViewsBench } from './materialized-views.ts';
import { runKeptViewsBench } from './kept-views.ts';
import { runWatchWithDataBench } from './watch-with-data.ts';
import { runBlueGreenBench } from './blue-green.ts';
import { runDataTestsBench } from './data-tests.ts';
import { runUnitTestsBench } from './unit-tests.ts';
import { runConsoleBench } from './console.ts';
import { runActivationBench } from './activation.ts';

/** The sections, in the order they run; each prints its own figures. */
export const SECTIONS: ReadonlyArray<readonly [title: string, run: () => unknown]> = [
  ['Compile', runCompileBench],
  ['Deploy and watch', runDeployBench],
  ['Segment function', runFunctionBench],
  ['Local server: webhook ingest and the HTTP SQL API', runLocalServerBench],
  ['Local server: what a session per connection costs', runSessionCostBench],
  ['SUBSCRIBE', runSubscribeBench],
  ['Materialized views', runMaterializedViewsBench],
  ['Kept views at 100,000 and 1,000,000 events: temporal filters, count(DISTINCT), data tests, ingest', runKeptViewsBench],
  ['Watch with data', runWatchWithDataBench],
  ['Blue/green', runBlueGreenBench],
  ['Data tests', runDataTestsBench],
  ['Unit tests', runUnitTestsBench],
  ['Console', runConsoleBench],
  ['Activation', runActivationBench],
];
