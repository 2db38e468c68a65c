import { expect, it } from 'vitest';
import { urlHost } from '../../scripts/local/reachable-host.ts';
import { startLocalServer } from '../../scripts/local/local-server.ts';

it('URLs of a server bound to every interface name loopback, which its Host check accepts', () => {
  expect(urlHost('0.0.0.0')).toBe('127.0.0.1');
  expect(urlHost('::')).toBe('[::1]');
  expect(urlHost('::1')).toBe('[::1]');
  expect(urlHost('127.0.0.1')).toBe('127.0.0.1');
  expect(urlHost('devbox.local')).toBe('devbox.local');
});

it('a server started with --host 0.0.0.0 prints webhook and SQL URLs that it then answers', async () => {
  const server = await startLocalServer({ memory: true, host: '0.0.0.0', pgPort: 0, httpPort: 0 });
  try {
    expect(server.webhookBaseUrl.startsWith('http://127.0.0.1:')).toBe(true);
    expect(server.pgUrl).toMatch(/@127\.0\.0\.1:/);
    const response = await fetch(server.webhookUrl('missing'), { method: 'POST', body: '{}' });
    // Served (404: no such source), not refused by the Host check (421).
    expect(response.status).toBe(404);
  } finally {
    await server.stop();
  }
});
