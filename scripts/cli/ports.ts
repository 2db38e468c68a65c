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
