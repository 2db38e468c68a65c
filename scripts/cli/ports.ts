/** Flag parsers for ports and durations, shared by the commands that start servers. */
import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new InvalidArgumentError('a port is an integer from 0 to 65535 (0 picks a free one)');
  }
  return parsed;
}

export function parseMilliseconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('a positive number of milliseconds');
  return parsed;
}

export function parseThreads(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 64) throw new InvalidArgumentError('an integer from 1 to 64');
  return parsed;
}

export function parseSeconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('a number of seconds, 0 or more');
  return parsed;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `2s`, `1.5m`, `1h`, or a bare number of seconds → milliseconds. */
export function parseDuration(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) throw new InvalidArgumentError(`'${value}' is not a duration: write e.g. 500ms, 2s, 30m or 1h`);
  return Number(match[1]) * DURATION_UNITS[match[2] ?? 's']!;
}
