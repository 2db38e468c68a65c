/**
 * Telling a process from a later one that reuses its pid: the local server's data-directory lock,
 * the runner's deploy lease and the activation worker's checkpoint all record who holds them.
 */
import { readFileSync } from 'node:fs';

/**
 * Which process a pid is, on Linux: the boot id and the process's start time (field 22 of
 * /proc/<pid>/stat). Undefined elsewhere; then a live pid is taken at its word.
 */
export function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${bootId}:${fields[19]}`;
  } catch {
    return undefined;
  }
}
