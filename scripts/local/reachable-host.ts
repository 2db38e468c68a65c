/**
 * The host to put in URLs for a server bound to `host`. A wildcard bind (0.0.0.0, ::) listens on
 * every interface, but a URL naming it is refused by the server's own Host check (a browser would
 * send `Host: 0.0.0.0`; webhook/request-guard.ts): such URLs name loopback instead. IPv6
 * literals are bracketed, as URLs need.
 */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`;
  return host;
}
