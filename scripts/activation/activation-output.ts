/** How the worker's events read in a terminal (npm run activate, npm run dev). */
import pc from 'picocolors';
import type { ActivationEvent } from './worker.ts';

export function formatActivationEvent(event: ActivationEvent): string {
  const name = pc.bold(event.activation);
  switch (event.type) {
    case 'waiting':
      return pc.yellow(`${name}: waiting: another worker holds this activation (${event.holder}, lease until ${event.expiresAt})`);
    case 'following':
      return `${name}: following ${event.relation} → ${event.destination}${event.delivered ? pc.dim(` (resuming: ${event.delivered} row${event.delivered === 1 ? '' : 's'} delivered before)`) : ''}`;
    case 'delivered': {
      const what = [event.upserts ? `${event.upserts} upsert${event.upserts === 1 ? '' : 's'}` : '', event.deletes ? `${event.deletes} delete${event.deletes === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ');
      const kind = event.resent ? ' (re-sent: interrupted batch)' : event.snapshot ? ' (catch-up: changed since the checkpoint)' : '';
      const failed = event.failed ? pc.red(`, ${event.failed} refused`) : '';
      return `${name}: ${pc.green('sent')} ${what}${failed} at ${event.mzTimestamp}${kind} ${pc.dim(`${Math.round(event.ms)} ms`)}`;
    }
    case 'retrying':
      return pc.yellow(`${name}: retrying ${event.notice.messages} message${event.notice.messages === 1 ? '' : 's'} in ${Math.round(event.notice.delayMs)} ms (attempt ${event.notice.attempt}: ${event.notice.reason})`);
    case 'failed':
      return pc.red(`${name}: refused: key ${event.failure.keyText}, message ${event.failure.messageId}: ${event.failure.reason}`);
    case 'resubscribing':
      return pc.dim(`${name}: subscribing again: ${event.reason}`);
    case 'error':
      return event.retryInMs === null
        ? pc.red(`${name}: stopped: ${event.message}`)
        : pc.red(`${name}: ${event.message}`) + pc.dim(` (retrying in ${(event.retryInMs / 1000).toFixed(1)} s)`);
  }
}
