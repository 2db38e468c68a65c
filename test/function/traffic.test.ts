/**
 * The traffic events:send posts by default: realistic in shape (several hundred people, dozens of
 * track events, a handful of deletes, retried deliveries, days of event time), reproducible, and —
 * sent by the command through the built function into the deployed seed — it fills every mart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleTraffic } from '../../functions/samples/traffic.ts';
import { deployProject } from '../helpers/deploy.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { runScript } from '../helpers/run-script.ts';
import { copyOfSeedProject } from '../helpers/temp-project.ts';

const NOW = new Date('2026-11-23T06:00:00.000Z');

describe('sampleTraffic', () => {
  const events = sampleTraffic(2_000, { now: NOW, seed: 7 });
  const byType = (type: string) => events.filter((event) => event.type === type);

  it('is several hundred people, a few of them heavy, with dozens of track events and only a handful of deletes', () => {
    expect(events).toHaveLength(2_000);
    const people = new Set(events.map((event) => event.userId).filter(Boolean));
    expect(people.size).toBeGreaterThanOrEqual(250);
    expect(people.size).toBeLessThanOrEqual(400);
    const perPerson = new Map<unknown, number>();
    for (const event of events) perPerson.set(event.userId, (perPerson.get(event.userId) ?? 0) + 1);
    expect(Math.max(...perPerson.values())).toBeGreaterThan(20);
    expect(new Set(byType('track').map((event) => event.event)).size).toBeGreaterThanOrEqual(25);
    expect(byType('delete').length).toBeGreaterThanOrEqual(1);
    expect(byType('delete').length).toBeLessThanOrEqual(5);
    expect(byType('page').length).toBeGreaterThan(200);
    expect(byType('identify').length).toBeGreaterThanOrEqual(people.size);
    expect(events.filter((event) => !event.userId).length).toBeGreaterThan(50);
  });

  it('spreads event time over the last week, with recent traffic, and retries about 1% of deliveries', () => {
    const times = events.map((event) => Date.parse(event.timestamp as string));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(NOW.getTime() - 7 * 86_400_000);
    expect(Math.max(...times)).toBeLessThanOrEqual(NOW.getTime());
    const days = new Set(events.map((event) => (event.timestamp as string).slice(0, 10)));
    expect(days.size).toBeGreaterThanOrEqual(7);
    expect(times.filter((time) => time > NOW.getTime() - 30 * 60_000).length).toBeGreaterThan(100);
    const ids = events.map((event) => event.messageId);
    expect(ids.length - new Set(ids).size).toBe(20);
  });

  it('gives orders revenue from their products and is the same for the same seed', () => {
    const orders = byType('track').filter((event) => event.event === 'Order Completed');
    expect(orders.length).toBeGreaterThan(0);
    for (const order of orders) {
      const properties = order.properties as { revenue: number; products: Array<{ price: number; quantity: number }> };
      expect(properties.revenue).toBe(properties.products.reduce((sum, item) => sum + item.price * item.quantity, 0));
    }
    expect(sampleTraffic(300, { now: NOW, seed: 7 })).toEqual(sampleTraffic(300, { now: NOW, seed: 7 }));
    expect(sampleTraffic(300, { now: NOW, seed: 8 })).not.toEqual(sampleTraffic(300, { now: NOW, seed: 7 }));
  });
});

describe('npm run events:send into the deployed seed', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
    const report = await deployProject(t, copyOfSeedProject());
    expect(report.results.every((result) => result.status === 'done')).toBe(true);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('fills every mart with meaningful numbers', async () => {
    const sent = await runScript('events-send.ts', ['--url', t.server.webhookUrl('segment_source', 'segment'), '--batch', '100'], { env: { SEGMENT_WEBHOOK_SECRET: '' } });
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/2000 delivered, 0 retried, 0 rejected/);

    const [counts] = await t.query<{ raw: string; deduplicated: string }>(`SELECT (SELECT count(*) FROM segment.segment_source) AS raw, (SELECT count(*) FROM analytics.stg_segment_events) AS deduplicated`);
    expect(Number(counts!.raw)).toBe(2_000);
    expect(Number(counts!.deduplicated)).toBe(1_980);
    expect((await t.query(`SELECT 1 FROM analytics.user_profiles`)).length).toBeGreaterThanOrEqual(250);
    expect((await t.query(`SELECT 1 FROM analytics.daily_active_users WHERE active_users > 50`)).length).toBeGreaterThanOrEqual(7);
    expect((await t.query(`SELECT 1 FROM analytics.track_event_counts`)).length).toBeGreaterThanOrEqual(25);
    expect((await t.query(`SELECT 1 FROM analytics.page_views_by_url`)).length).toBeGreaterThanOrEqual(10);
    const [recent] = await t.query<{ events: string }>(`SELECT sum(events) AS events FROM analytics.events_per_minute`);
    expect(Number(recent!.events)).toBeGreaterThan(100);
  });
});
