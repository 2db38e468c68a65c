/**
 * The request guard (scripts/local/http/request-guard.ts) on its own — which `Host` and
 * `Origin` headers it lets through — and on the local server's HTTP port as a client outside a
 * browser sees it: foreign `Host` → 421, foreign `Origin` → 403 (WebSocket upgrades included),
 * /api/sql without JSON → 415, and curl-like requests (no Origin, no Host) still served.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isJsonContentType, JSON_CONTENT_TYPE_REQUIRED } from '../../scripts/local/http/http-sql-api.ts';
import { hostName, RequestGuard } from '../../scripts/local/http/request-guard.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

describe('Host', () => {
  const guard = new RequestGuard('127.0.0.1');
  it.each([
    'localhost',
    'localhost:6876',
    'LOCALHOST:1',
    'localhost.:6876',
    'console.localhost:6874',
    '127.0.0.1:6876',
    '127.9.8.7',
    '127.1:6876',
    '[::1]:6876',
    '[::1]',
    '[::ffff:127.0.0.1]:6876',
  ])('%s is served', (host) => {
    expect(guard.check({ host })).toBeNull();
  });

  it.each([
    'evil.example:6876',
    'evil.example',
    '0.0.0.0:6876',
    '127.0.0.1.nip.io:6876',
    'localhost.evil.test:6876',
    'localhost-evil.test',
    '[::2]:6876',
    '[::]:6876',
    '128.0.0.1:6876',
    '192.168.1.5:6876',
    'evil.test@127.0.0.1',
    '127.0.0.1/evil',
    'evil test',
    '',
  ])('%j → 421, naming the host and how to allow it', (host) => {
    const refused = guard.check({ host });
    expect(refused?.status).toBe(421);
    expect(refused?.text).toContain(`Host ${JSON.stringify(host)}`);
    const name = hostName(host);
    if (name === '0.0.0.0' || name === '[::]') expect(refused?.text).toContain(`${name} means every interface when binding, not a host to connect to`);
    else if (name) expect(refused?.text).toContain(`--host ${name.replace(/^\[(.*)\]$/, '$1')}`);
  });

  it('a request without Host (HTTP/1.0) is served', () => {
    expect(guard.check({})).toBeNull();
  });

  it('the host the server was bound to is served, with any port', () => {
    const bound = new RequestGuard('192.168.1.5');
    expect(bound.check({ host: '192.168.1.5:6876' })).toBeNull();
    expect(bound.check({ host: '192.168.1.5:9999' })).toBeNull();
    expect(bound.check({ host: 'localhost:6876' })).toBeNull();
    expect(bound.check({ host: '192.168.1.6:6876' })?.status).toBe(421);
    expect(new RequestGuard('Dev-Box.lan').check({ host: 'dev-box.lan:6874' })).toBeNull();
    expect(new RequestGuard('fe80::1').check({ host: '[fe80::1]:6876' })).toBeNull();
  });

  it('binding to every interface allows no name beyond loopback', () => {
    for (const wildcard of ['0.0.0.0', '::']) {
      const guard = new RequestGuard(wildcard);
      expect(guard.check({ host: '127.0.0.1:6876' })).toBeNull();
      expect(guard.check({ host: '0.0.0.0:6876' })?.status).toBe(421);
      expect(guard.check({ host: '[::]:6876' })?.status).toBe(421);
      expect(guard.check({ host: '192.168.1.5:6876' })?.status).toBe(421);
    }
  });
});

describe('Origin', () => {
  const guard = new RequestGuard('127.0.0.1');
  it('no Origin (curl, drivers, webhook senders) is served', () => {
    expect(guard.check({ host: '127.0.0.1:6876' })).toBeNull();
  });

  it("the page's own origin is served: the console's page, directly or passed on to the HTTP port", () => {
    expect(guard.check({ host: '127.0.0.1:6874', origin: 'http://127.0.0.1:6874' })).toBeNull();
    expect(guard.check({ host: 'localhost:6874', origin: 'http://localhost:6874' })).toBeNull();
    expect(guard.check({ host: '[::1]:6874', origin: 'http://[::1]:6874' })).toBeNull();
    expect(guard.check({ host: 'localhost', origin: 'http://localhost' })).toBeNull();
  });

  it.each([
    ['http://evil.example', '127.0.0.1:6876'],
    ['https://evil.example', '127.0.0.1:6876'],
    ['http://127.0.0.1:8000', '127.0.0.1:6876'],
    ['http://127.0.0.1:6874', '127.0.0.1:6876'],
    ['http://localhost:6876', '127.0.0.1:6876'],
    ['null', '127.0.0.1:6876'],
    ['file://', '127.0.0.1:6876'],
    ['chrome-extension://abc', '127.0.0.1:6876'],
    ['http://127.0.0.1:6876', undefined],
    ['garbage', '127.0.0.1:6876'],
  ])('Origin %s with Host %s → 403, naming the page', (origin, host) => {
    const refused = guard.check({ origin, ...(host === undefined ? {} : { host }) });
    expect(refused?.status).toBe(403);
    expect(refused?.text).toContain(`the web page at ${origin}`);
  });

  it('a foreign Host is refused before its Origin is looked at (DNS rebinding is same-origin)', () => {
    expect(guard.check({ host: 'evil.test:6876', origin: 'http://evil.test:6876' })?.status).toBe(421);
  });
});

describe('Content-Type of /api/sql (axum Json)', () => {
  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json', ' application/json '])('%j is JSON', (type) => {
    expect(isJsonContentType(type)).toBe(true);
  });
  it.each([undefined, '', 'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json', 'application/json-seq', 'application/jsonp', 'json'])('%j is not', (type) => {
    expect(isJsonContentType(type)).toBe(false);
  });
});

describe('on the HTTP port', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  function request(path: string, headers: Record<string, string>, body = '', method = 'POST'): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const sent = http.request({ host: t.server.host, port: t.server.httpPort, path, method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      });
      sent.on('error', reject);
      sent.end(body);
    });
  }

  const json = { 'content-type': 'application/json' };
  const query = JSON.stringify({ query: 'SELECT 1 AS one' });

  it('serves curl-like requests: JSON, no Origin', async () => {
    const answer = await request('/api/sql', json, query);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text).results[0].rows).toEqual([[1]]);
  });

  it('refuses /api/sql without Content-Type: application/json with 415, as Materialize', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      expect(await request('/api/sql', { 'content-type': type }, query)).toEqual({ status: 415, text: JSON_CONTENT_TYPE_REQUIRED });
    }
    expect(await request('/api/sql', {}, query)).toEqual({ status: 415, text: JSON_CONTENT_TYPE_REQUIRED });
  });

  it('refuses a foreign Host with 421 and a foreign Origin with 403, on every route', async () => {
    for (const path of ['/api/sql', '/topics/t', '/api/webhook/materialize/public/s']) {
      const misdirected = await request(path, { ...json, host: `evil.example:${t.server.httpPort}` }, query);
      expect(misdirected.status, path).toBe(421);
      expect(misdirected.text).toContain('Host "evil.example:');
      const forbidden = await request(path, { ...json, origin: 'http://evil.example' }, query);
      expect(forbidden.status, path).toBe(403);
      expect(forbidden.text).toContain('the web page at http://evil.example');
    }
  });

  it('refuses a WebSocket upgrade from a foreign Origin or under a foreign Host, and takes one from curl-like clients', async () => {
    const upgrade = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const sent = http.request({
          host: t.server.host,
          port: t.server.httpPort,
          path: '/api/experimental/sql',
          headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
        });
        sent.on('upgrade', (response, socket) => {
          socket.destroy();
          resolve(response.statusCode ?? 0);
        });
        sent.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        sent.on('error', reject);
        sent.end();
      });
    expect(await upgrade({ origin: 'http://evil.example' })).toBe(403);
    expect(await upgrade({ host: 'evil.example' })).toBe(421);
    expect(await upgrade({})).toBe(101);
  });
});
