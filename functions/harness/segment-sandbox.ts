/**
 * Runs the built function the way Segment does: the plain script evaluated in a fresh V8 context
 * (node:vm) whose only globals are Segment's sandbox ones — fetch, crypto (Node's module), btoa,
 * atob, console, timers, URL, AbortController, TextEncoder — plus Segment's error classes. If the
 * bundle reached for anything else (require, process, Buffer, an import) it would fail here.
 */
import * as nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { BUNDLE_PATH, HANDLERS } from '../build/build-bundle.ts';

export class RetryError extends Error {
  override name = 'RetryError';
}
export class ValidationError extends Error {
  override name = 'ValidationError';
}
export class EventNotSupported extends Error {
  override name = 'EventNotSupported';
}
export class InvalidEventPayload extends Error {
  override name = 'InvalidEventPayload';
}

export type Handler = (event: unknown, settings: Record<string, unknown>) => Promise<unknown>;
export type Handlers = Record<(typeof HANDLERS)[number], Handler>;

export interface SandboxOptions {
  /** The script; the built bundle when absent. */
  readonly code?: string;
  readonly fetch?: typeof fetch;
  /** Segment's `crypto` is Node's module; pass `{ subtle }` to try a Web-Crypto-only runtime. */
  readonly crypto?: unknown;
}

export function loadFunction(options: SandboxOptions = {}): Handlers {
  const code = options.code ?? readFileSync(BUNDLE_PATH, 'utf8');
  const context = vm.createContext({
    fetch: options.fetch ?? fetch,
    crypto: options.crypto ?? nodeCrypto,
    btoa,
    atob,
    console,
    setTimeout,
    clearTimeout,
    URL,
    AbortController,
    TextEncoder,
    RetryError,
    ValidationError,
    EventNotSupported,
    InvalidEventPayload,
  });
  new vm.Script(code, { filename: 'materialize-destination.js' }).runInContext(context);
  const handlers = {} as Handlers;
  for (const name of HANDLERS) {
    const handler = context[name] as unknown;
    if (typeof handler !== 'function') throw new Error(`the function defines no ${name}`);
    handlers[name] = handler as Handler;
  }
  return handlers;
}

/** The handler Segment calls for an event of this type. */
export function handlerFor(handlers: Handlers, type: string): Handler {
  const name = `on${type.charAt(0).toUpperCase()}${type.slice(1)}` as keyof Handlers;
  const handler = handlers[name];
  if (!handler || name === 'onBatch') throw new EventNotSupported(`${type} is not supported`);
  return handler;
}
