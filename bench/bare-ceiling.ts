/** Drives bench/bare-ceiling-thread.ts: bare PGlite's insert rates, measured on a thread of its own. */
import type { Worker } from 'node:worker_threads';
import { startTypeScriptThread } from '../scripts/local/engine/typescript-thread.ts';
import type { BareCeilingCommand, BareCeilingData, BareCeilingReply } from './bare-ceiling-thread.ts';

export class BareCeiling {
  private constructor(private readonly worker: Worker) {}

  static async start(data: BareCeilingData): Promise<BareCeiling> {
    const worker = await startTypeScriptThread(new URL('./bare-ceiling-thread.ts', import.meta.url), data);
    const ceiling = new BareCeiling(worker);
    await ceiling.reply();
    return ceiling;
  }

  /** Single-row inserts per second, each event its own prepared insert. */
  singles(): Promise<number> {
    return this.ask({ kind: 'singles' });
  }

  /** Rows per second in batch inserts (one statement per JSON array). */
  batches(): Promise<number> {
    return this.ask({ kind: 'batches' });
  }

  /** Single-row inserts per second through PGlite's query(), which plans every call. */
  query(count: number): Promise<number> {
    return this.ask({ kind: 'query', count });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ kind: 'close' } satisfies BareCeilingCommand);
    await exited;
  }

  private async ask(command: BareCeilingCommand): Promise<number> {
    const answer = this.reply();
    this.worker.postMessage(command);
    const reply = await answer;
    if (reply.kind !== 'rate') throw new Error(`the bare ceiling thread answered ${reply.kind}`);
    return reply.rate;
  }

  private reply(): Promise<BareCeilingReply> {
    return new Promise((resolve, reject) => {
      const cleanup = () => this.worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      const onMessage = (reply: BareCeilingReply) => {
        cleanup();
        if (reply.kind === 'failed') reject(new Error(`bare ceiling: ${reply.message}`));
        else resolve(reply);
      };
      const onError = (error: Error) => (cleanup(), reject(error));
      const onExit = (code: number) => (cleanup(), reject(new Error(`the bare ceiling thread exited (code ${code})`)));
      this.worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  }
}
