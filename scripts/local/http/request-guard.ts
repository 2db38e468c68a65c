/**
 * Which requests the local server's HTTP port (6876) and the console's port (6874) answer: a web
 * page on any site must not be able to run SQL or write data through them.
 *
 * - `Host` must name this machine's loopback — `localhost`, `*.localhost`, 127.0.0.0/8, `[::1]` — or
 *   the host the server was told to bind to (unless that is a wildcard, 0.0.0.0 or ::), with any
 *   port. Anything else is refused with 421 Misdirected Request: a page that reached 127.0.0.1 by
 *   DNS rebinding (its name resolved to 127.0.0.1 after it loaded) sends its own name, and is
 *   same-origin with its target, so neither CORS nor the Origin check below would stop it. A
 *   request without `Host` (HTTP/1.0 tools) passes: browsers always send one.
 * - `Origin`, when present, must be the origin the request was sent to (scheme aside, the same
 *   host and port as `Host`): that is a page served by this server itself — the console's page,
 *   whose `/api/sql` and WebSocket are passed through to the HTTP port with its `Host` and
 *   `Origin` as they were. Any other page is refused with 403: a cross-origin `fetch` with
 *   `Content-Type: text/plain` is a CORS "simple request", sent without a preflight, and WebSocket
 *   upgrades are not covered by CORS at all. Clients outside a browser (curl, drivers, the Segment
 *   function, the webhook senders) send no `Origin` and are not affected.
 *
 * Dev servers check the same two headers for the same reasons (Vite's `server.allowedHosts`,
 * webpack-dev-server's `allowedHosts`; see ../shared/DESIGN.md).
 */
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

export interface GuardRefusal {
  readonly status: 403 | 421;
  /** Plain text: which header was refused, why, and what to do. */
  readonly text: string;
}

/** The host names and addresses a server answers to: loopback's, and the one it was bound to. */
export class RequestGuard {
  /** The bound host as a `Host` header names it (lower case, IPv6 in brackets); null for a wildcard. */
  private readonly boundName: string | null;

  constructor(bindHost: string) {
    this.boundName = isWildcard(bindHost) ? null : hostName(net.isIPv6(bindHost) ? `[${bindHost}]` : bindHost);
  }

  /** null when the request may be served; otherwise the answer to give it. */
  check(headers: http.IncomingHttpHeaders): GuardRefusal | null {
    const host = headers.host;
    const origin = headers.origin;
    if (host !== undefined && !this.allowsHost(host)) return { status: 421, text: this.hostRefusal(host) };
    if (origin !== undefined && !sameOrigin(origin, host)) return { status: 403, text: originRefusal(origin) };
    return null;
  }

  private allowsHost(header: string): boolean {
    const name = hostName(header);
    if (name === null) return false;
    return isLoopbackName(name) || (this.boundName !== null && name === this.boundName);
  }

  private hostRefusal(header: string): string {
    const name = hostName(header);
    const bound = this.boundName ? `, and to ${this.boundName} (the host it was started with)` : '';
    const allow =
      name === null
        ? ''
        : isWildcard(name)
          ? ` ${name} means every interface when binding, not a host to connect to: use localhost or 127.0.0.1 (or this machine's address, after starting the server with --host <that address>).`
          : ` To use it under ${name}, start it bound to that host: --host ${name.replace(/^\[(.*)\]$/, '$1')} (npm run local / npm run dev), or host: '…' for startLocalServer.`;
    return (
      `421 Misdirected Request: this server does not answer to Host ${JSON.stringify(header)}. ` +
      `It answers to localhost, *.localhost, 127.0.0.0/8 and [::1] on any port${bound}, so that a web page ` +
      `whose name was made to resolve to this machine (DNS rebinding) cannot use it.${allow}\n`
    );
  }
}

function originRefusal(origin: string): string {
  return (
    `403 Forbidden: a request from the web page at ${origin} (its Origin header) is refused. ` +
    `Only the console's own page may call this server from a browser, so that other sites cannot run SQL ` +
    `or write data here. Clients outside a browser (curl, psql, drivers, webhook senders) send no Origin ` +
    `header and are not affected.\n`
  );
}

/** The 0.0.0.0 and :: of "every interface": not a name any client should send. */
function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

/**
 * The host name a `Host` header (or a bare host) names: lower case, without port or one trailing
 * dot, IPv4 in dotted decimal (`127.1` → `127.0.0.1`), IPv6 in brackets, compressed. null when it is
 * not a well-formed host: only letters, digits, `.`, `-`, `_` or a bracketed IPv6 address, and an
 * optional port — so that nothing like `evil.test@127.0.0.1` gets parsed into a loopback address.
 */
export function hostName(header: string): string | null {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{0,5}))?$/i.exec(header.trim());
  if (!match) return null;
  let parsed: URL;
  try {
    parsed = new URL(`http://${match[1]}`);
  } catch {
    return null;
  }
  const name = parsed.hostname;
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** localhost, *.localhost (browsers resolve these to loopback themselves, RFC 6761), 127.0.0.0/8, ::1. */
function isLoopbackName(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  const address = name.startsWith('[') ? name.slice(1, -1) : name;
  const family = net.isIP(address);
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) is checked against the IPv4 subnet.
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether a page at `origin` is the one the request was sent to (host and port as in `Host`). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let page: URL;
  let target: URL;
  try {
    page = new URL(origin);
    target = new URL(`http://${host.trim()}`);
  } catch {
    // `null` (a sandboxed frame, a file:// page) and anything unparsable.
    return false;
  }
  if (page.protocol !== 'http:' && page.protocol !== 'https:') return false;
  const pageName = hostName(page.host);
  const targetName = hostName(host);
  const pagePort = page.port || (page.protocol === 'https:' ? '443' : '80');
  const targetPort = target.port || '80';
  return pageName !== null && pageName === targetName && pagePort === targetPort;
}

/** Answers a refused upgrade (WebSocket) on its raw socket, then closes it. */
export function refuseUpgrade(socket: Duplex, refusal: GuardRefusal): void {
  const reason = refusal.status === 421 ? 'Misdirected Request' : 'Forbidden';
  const body = Buffer.from(refusal.text, 'utf8');
  socket.end(
    `HTTP/1.1 ${refusal.status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${refusal.text}`,
  );
}
