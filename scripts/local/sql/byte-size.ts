/**
 * Byte sizes as session variables take them (max_result_size): a number of bytes, or a number and
 * a unit in PostgreSQL's memory units (B, kB, MB, GB, TB; each 1024 of the one before), with or
 * without a space, in any case. Shown back in the largest unit that divides it ("1GB").
 */
/** Materialize's default max_result_size: 1 GiB. */
export const DEFAULT_MAX_RESULT_BYTES = 1024 ** 3;

const UNITS: Array<[string, number]> = [
  ['TB', 1024 ** 4],
  ['GB', 1024 ** 3],
  ['MB', 1024 ** 2],
  ['KB', 1024],
  ['B', 1],
];

/** The size in bytes, or null when `text` is not one. */
export function parseByteSize(text: string): number | null {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return null;
  const amount = Number(match[1]);
  const unit = match[2]!.toUpperCase();
  const factor = unit === '' ? 1 : UNITS.find(([name]) => name === unit)?.[1];
  if (factor === undefined || !Number.isSafeInteger(amount * factor)) return null;
  return amount * factor;
}

export function formatByteSizeSetting(bytes: number): string {
  for (const [name, factor] of UNITS) {
    if (bytes > 0 && bytes >= factor && bytes % factor === 0) return `${bytes / factor}${name === 'KB' ? 'kB' : name}`;
  }
  return `${bytes}B`;
}

/** A SELECT that shows the size `bytesSql` (a bigint expression) as formatByteSizeSetting does, in column `column`. */
export function showByteSizeQuery(column: string, bytesSql: string): string {
  const cases = UNITS.filter(([, factor]) => factor > 1)
    .map(([name, factor]) => `WHEN b > 0 AND b % ${factor} = 0 THEN (b / ${factor})::text || '${name === 'KB' ? 'kB' : name}'`)
    .join(' ');
  return `SELECT CASE ${cases} ELSE b::text || 'B' END AS ${column} FROM (SELECT ${bytesSql} AS b) AS size`;
}
