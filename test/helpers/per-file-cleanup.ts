/**
 * Cleanup every test file gets (vitest.config.ts `setupFiles`): temporary projects after each test,
 * processes the file started after the file. Registered here rather than where the helpers keep
 * their lists because files share one module instance per worker (`isolate: false`): a hook
 * registered when a helper module is first imported would run for that first file only.
 */
import { afterAll, afterEach } from 'vitest';
import { killTrackedChildren } from './server-process.ts';
import { removeTemporaryProjects } from './temp-project.ts';

afterEach(removeTemporaryProjects);
afterAll(killTrackedChildren);
