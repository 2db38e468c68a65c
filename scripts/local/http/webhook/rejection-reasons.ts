/**
 * Why a webhook request was rejected, in words a developer can act on (the console's request log).
 * The HTTP response keeps Materialize's own terse text; this is extra, and never quotes a header
 * value, a secret or a signature.
 */

/** What a source's CHECK reads, found in its SQL: enough to explain a failed validation. */
export interface CheckShape {
  /** Header names the CHECK reads (`headers->'x-signature'`), lower-cased. */
  readonly headers: readonly string[];
  /** It computes an HMAC: a false CHECK almost always means a signature mismatch. */
  readonly usesHmac: boolean;
}

export function checkShape(checkSql: string): CheckShape {
  const headers = new Set<string>();
  for (const match of checkSql.matchAll(/\bheaders\s*->>?\s*'((?:[^']|'')+)'/gi)) headers.add(match[1]!.replaceAll("''", "'").toLowerCase());
  return { headers: [...headers], usesHmac: /\bhmac\s*\(/i.test(checkSql) };
}

/** A CHECK that returned false or NULL. */
export function failedCheckReason(shape: CheckShape, requestHeaders: ReadonlyMap<string, string>): string {
  const missing = shape.headers.filter((name) => !requestHeaders.has(name));
  if (missing.length > 0) {
    const names = missing.map((name) => `'${name}'`).join(', ');
    return shape.usesHmac
      ? `no ${names} header: the request is not signed — send it through the destination function (it signs every request), or sign the body yourself`
      : `no ${names} header, which the source's CHECK reads`;
  }
  if (shape.usesHmac) return "signature does not match: check the function's sharedSecret (it must equal the source's secret) and that it signs the exact body";
  return "the source's CHECK returned false for this request";
}

export const CHECK_ERROR_REASON = "the source's CHECK failed with an error (details are hidden: they could quote a secret); run the CHECK's expression in SQL to see it";
export const MISSING_SECRET_REASON = "the secret the source's CHECK uses does not exist: deploy it (npm run models:deploy) or recreate it";

export function unknownSourceReason(database: string, schema: string, name: string, known: readonly string[]): string {
  const where = `${database}.${schema}.${name}`;
  const hint = known.length > 0 ? ` (webhook sources here: ${known.slice(0, 5).join(', ')}${known.length > 5 ? ', …' : ''})` : ' (no webhook source is deployed: run npm run models:deploy)';
  return `no webhook source ${where}: check the URL's database/schema/source${hint}`;
}

export function tooLargeReason(bytes: number, limit: number): string {
  return `body of ${formatBytes(bytes)} is over the ${formatBytes(limit)} limit: send smaller batches`;
}

export function concurrencyReason(limit: number): string {
  return `more than ${limit} requests in flight: the sender should retry with backoff (the destination function does)`;
}

/** A body the source's BODY FORMAT cannot read: where, as a byte offset when known. */
export function badBodyReason(message: string, byteOffset: number | undefined): string {
  const detail = message.replace(/^failed to deserialize body as \w+: /, '');
  if (byteOffset !== undefined) return `not valid JSON at byte ${byteOffset}: ${detail.replace(/ at line \d+ column \d+$/, '')}`;
  if (/utf-8/i.test(detail)) return `body is not valid UTF-8: ${detail}`;
  return `body cannot be read: ${detail}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
