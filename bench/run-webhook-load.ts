/**
 * Runs bench/webhook-load.ts in a process of its own (so that the load generator's work is not
 * counted against the server's thread) and reads its one-line JSON result. Its warm-up requests
 * are sent first and not timed.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface WebhookLoad {
  readonly url: string;
  readonly secret: string;
  readonly requests: number;
  readonly eventsPerRequest: number;
  readonly concurrency: number;
  /** The messageId number of the first event, so that runs against one source do not collide. */
  readonly firstId: number;
  readonly warmUp: number;
}

export interface WebhookLoadResult {
  ms: number;
  acknowledged: number;
  warmUpAcknowledged: number;
  failures: Record<string, number>;
}

export function runWebhookLoad(load: WebhookLoad): Promise<WebhookLoadResult> {
  const args = [load.url, load.secret, load.requests, load.eventsPerRequest, load.concurrency, load.firstId, load.warmUp].map(String);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'webhook-load.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`webhook-load exited with ${code}`));
      resolve(JSON.parse(output.trim().split('\n').pop()!) as WebhookLoadResult);
    });
  });
}
