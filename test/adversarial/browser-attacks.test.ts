/**
 * Issue 29: any web page could run SQL on the local server. Here pages of other sites, in a real
 * browser (Debian's chromium through playwright-core), try what such a page can do with `npm run
 * dev` running — and the data survives each attempt:
 *
 * - a page of another origin (a tiny server on another port) posts SQL with `Content-Type:
 *   text/plain` (a CORS "simple request": sent without a preflight) to `/api/sql` on the HTTP port
 *   and on the console's port, posts to the Kafka produce endpoint and to an unsigned webhook
 *   source, and opens the WebSocket API on both ports (WebSockets are not covered by CORS);
 * - a page reached by DNS rebinding — its name, evil.test, resolves to 127.0.0.1 once it has loaded
 *   (chromium's --host-resolver-rules maps the name; the page itself is answered by the test, as
 *   the attacker's server would) — is same-origin with its target, so it may send anything: only
 *   the foreign `Host` (evil.test:<port>) gives it away (chromium's Local Network Access checks,
 *   which would block it in chromium alone, are turned off: Firefox and Safari have none);
 * - meanwhile the console's own page still runs a query in its SQL shell.
 *
 * Screenshots: test/screenshots/attack-*.png (what the attacking pages saw), console-after-attacks.png.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type RunningConsole } from '../../scripts/console/start-console.ts';
import { browserAvailable, CHROMIUM_PATH, screenshot } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';

const runBrowser = browserAvailable();
const EVIL_PAGE = '<!doctype html><meta charset="utf-8"><title>evil</title><h1>A page of another site</h1><ol id="log"></ol>';

let t: TestServer;
let consoleHandle: RunningConsole;
let attacker: http.Server;
let attackerPort: number;
let browser: Browser;
let page: Page;
let victims = 0;

beforeAll(async () => {
  if (!runBrowser) return;
  t = await startTestServer();
  consoleHandle = await startConsole(t.server, { port: 0 });
  // The other site: any page, on another port of the same machine.
  attacker = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(EVIL_PAGE);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerPort = (attacker.address() as AddressInfo).port;
  // --no-sandbox: CI runs as root (as helpers/browser.ts). evil.test resolves to this machine.
  // Chromium's own Local Network Access checks are off: they refuse a public page's requests to
  // loopback (the rebinding tests' page counts as public), but Firefox and Safari have none, so the
  // server must refuse these requests itself — which is what is tested.
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--host-resolver-rules=MAP evil.test 127.0.0.1', '--disable-features=LocalNetworkAccessChecks'],
  });
  page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
}, 120_000);

afterEach(async () => {
  if (!runBrowser) return;
  await page.unrouteAll();
});

afterAll(async () => {
  await browser?.close();
  await consoleHandle?.stop();
  await new Promise((resolve) => attacker?.close(resolve));
  await t?.close();
});

/** A new table with three rows for one attack to go after. */
async function victim(): Promise<string> {
  const name = `victim_${++victims}`;
  await t.query(`CREATE TABLE ${name} (id int, note text)`);
  await t.query(`INSERT INTO ${name} VALUES (1, 'kept'), (2, 'kept'), (3, 'kept')`);
  return name;
}

async function rows(table: string): Promise<number> {
  const [row] = await t.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(row!.n);
}

const httpBase = () => `http://127.0.0.1:${t.server.httpPort}`;
const consoleBase = () => `http://127.0.0.1:${consoleHandle.port}`;

/** Opens the other site's page: on its own port, or as evil.test on the target's port (rebinding). */
async function openAttacker(as: { foreign: true } | { rebound: number }): Promise<string> {
  if ('foreign' in as) {
    await page.goto(`http://127.0.0.1:${attackerPort}/`);
    return `http://127.0.0.1:${attackerPort}`;
  }
  // The attacker's DNS answered its own address for the page, then 127.0.0.1: the page comes from
  // "its" server (answered here), every request after it reaches the local one.
  const origin = `http://evil.test:${as.rebound}`;
  await page.route(`${origin}/`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: EVIL_PAGE }));
  await page.goto(`${origin}/`);
  return origin;
}

/** In the page: a POST as a form or a script may send it, noted in the page's log. */
function pagePost(url: string, body: string, type: string, cors: boolean): Promise<string> {
  return page.evaluate(
    async ({ url, body, type, cors }) => {
      let outcome: string;
      try {
        const response = await fetch(url, { method: 'POST', mode: cors ? 'cors' : 'no-cors', headers: { 'content-type': type }, body });
        outcome = response.type === 'opaque' ? 'sent (answer unreadable)' : `${response.status} ${await response.text()}`;
      } catch (error) {
        outcome = `failed: ${(error as Error).message}`;
      }
      const line = document.createElement('li');
      line.textContent = `POST ${url} (${type}) → ${outcome}`;
      document.getElementById('log')!.append(line);
      return outcome;
    },
    { url, body, type, cors },
  );
}

/** In the page: opens the WebSocket API, authenticates and runs `query`; what the socket saw. */
function pageSocket(url: string, query: string): Promise<string[]> {
  return page.evaluate(
    ({ url, query }) =>
      new Promise<string[]>((resolve) => {
        const seen: string[] = [];
        const done = () => {
          const line = document.createElement('li');
          line.textContent = `WebSocket ${url} → ${seen.join(', ')}`;
          document.getElementById('log')!.append(line);
          resolve(seen);
        };
        const socket = new WebSocket(url);
        let ready = 0;
        socket.onopen = () => {
          seen.push('open');
          socket.send(JSON.stringify({ user: 'materialize', password: '' }));
        };
        socket.onmessage = (event) => {
          const message = JSON.parse(String(event.data)) as { type: string };
          seen.push(message.type);
          if (message.type !== 'ReadyForQuery') return;
          if (++ready === 1) socket.send(JSON.stringify({ query }));
          else socket.close();
        };
        socket.onerror = () => seen.push('error');
        socket.onclose = () => {
          seen.push('close');
          done();
        };
        setTimeout(() => {
          seen.push('timeout');
          socket.close();
        }, 5_000);
      }),
    { url, query },
  );
}

describe.skipIf(!runBrowser)('pages of other sites against the local server', () => {
  it('a text/plain POST of SQL to the HTTP port does not run', async () => {
    const table = await victim();
    await openAttacker({ foreign: true });
    await pagePost(`${httpBase()}/api/sql`, JSON.stringify({ query: `DROP TABLE ${table}` }), 'text/plain', false);
    expect(await rows(table)).toBe(3);
  });

  it("a text/plain POST of SQL to the console's port does not run", async () => {
    const table = await victim();
    await openAttacker({ foreign: true });
    await pagePost(`${consoleBase()}/api/sql`, JSON.stringify({ query: `DROP TABLE ${table}` }), 'text/plain', false);
    expect(await rows(table)).toBe(3);
  });

  it('a WebSocket from another origin to the HTTP port is refused', async () => {
    const table = await victim();
    await openAttacker({ foreign: true });
    const seen = await pageSocket(`ws://127.0.0.1:${t.server.httpPort}/api/experimental/sql`, `DROP TABLE ${table}`);
    expect(seen).not.toContain('ReadyForQuery');
    expect(await rows(table)).toBe(3);
  });

  it("a WebSocket from another origin to the console's port is refused", async () => {
    const table = await victim();
    await openAttacker({ foreign: true });
    const seen = await pageSocket(`ws://127.0.0.1:${consoleHandle.port}/api/experimental/sql`, `DROP TABLE ${table}`);
    expect(seen).not.toContain('ReadyForQuery');
    expect(await rows(table)).toBe(3);
    await screenshot(page, 'attack-foreign-origin');
  });

  it('a POST to the Kafka produce endpoint adds no message', async () => {
    await t.query(`CREATE SECRET kafka_attack_password AS 'pw'`);
    await t.query(
      `CREATE CONNECTION kafka_attack TO KAFKA (BROKER 'broker:9092', SECURITY PROTOCOL = 'SASL_SSL', SASL MECHANISMS = 'SCRAM-SHA-256', SASL USERNAME = 'u', SASL PASSWORD = SECRET kafka_attack_password)`,
    );
    await t.query(`CREATE SOURCE kafka_victim FROM KAFKA CONNECTION kafka_attack (TOPIC 'attacked') FORMAT BYTES`);
    await openAttacker({ foreign: true });
    await pagePost(`${httpBase()}/topics/attacked`, '{"type":"track","event":"forged"}', 'text/plain', false);
    expect(await rows('kafka_victim')).toBe(0);
  });

  it('a POST to an unsigned webhook source adds no row', async () => {
    await t.query(`CREATE SOURCE webhook_victim FROM WEBHOOK BODY FORMAT JSON`);
    await openAttacker({ foreign: true });
    await pagePost(`${t.server.webhookUrl('webhook_victim')}`, '{"type":"track","event":"forged"}', 'text/plain', false);
    expect(await rows('webhook_victim')).toBe(0);
  });

  it('a page rebound to 127.0.0.1 gets 421 from the HTTP port, though same-origin and sending JSON', async () => {
    const table = await victim();
    const origin = await openAttacker({ rebound: t.server.httpPort });
    const outcome = await pagePost(`${origin}/api/sql`, JSON.stringify({ query: `DROP TABLE ${table}` }), 'application/json', true);
    expect(outcome).toMatch(/^421 421 Misdirected Request: this server does not answer to Host "evil\.test:\d+"/);
    expect(await rows(table)).toBe(3);
  });

  it("a page rebound to 127.0.0.1 gets 421 from the console's port", async () => {
    const table = await victim();
    const origin = await openAttacker({ rebound: consoleHandle.port });
    const outcome = await pagePost(`${origin}/api/sql`, JSON.stringify({ query: `DROP TABLE ${table}` }), 'application/json', true);
    expect(outcome).toMatch(/^421 .*--host evil\.test/);
    expect(await rows(table)).toBe(3);
  });

  it("a page rebound to 127.0.0.1 cannot open either port's WebSocket", async () => {
    const table = await victim();
    for (const port of [t.server.httpPort, consoleHandle.port]) {
      const origin = await openAttacker({ rebound: port });
      const seen = await pageSocket(`${origin.replace('http', 'ws')}/api/experimental/sql`, `DROP TABLE ${table}`);
      expect(seen, `port ${port}`).not.toContain('ReadyForQuery');
    }
    expect(await rows(table)).toBe(3);
    await screenshot(page, 'attack-rebinding');
  });

  it("the console's own page still runs a query, through both of its APIs", async () => {
    const table = await victim();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(consoleHandle.url);
    // POST /api/sql as the page's api.ts sends it (JSON, its own origin).
    const answer = await page.evaluate(async (sql) => {
      const response = await fetch('/api/sql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: sql }) });
      return { status: response.status, body: (await response.json()) as { results: Array<{ rows: unknown[][] }> } };
    }, `SELECT count(*) AS n FROM ${table}`);
    expect(answer.status).toBe(200);
    expect(answer.body.results[0]!.rows).toEqual([[3]]);
    // The SQL shell: the WebSocket API, through the console's port.
    await page.keyboard.press('3');
    const editor = page.locator('#sql-input');
    await editor.fill(`SELECT note, count(*) AS n FROM ${table} GROUP BY note`);
    await editor.press('Control+Enter');
    const result = page.getByTestId('sql-result');
    await result.locator('tbody tr').first().waitFor();
    expect(await result.locator('tbody tr').first().textContent()).toContain('kept');
    await screenshot(page, 'console-after-attacks');
    expect(errors).toEqual([]);
  });
});
