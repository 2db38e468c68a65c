/**
 * Realistic Segment Spec events of every type (track, page, identify, screen, group, alias,
 * delete), generated deterministically: the samples events:send posts, and the load the
 * benchmarks and tests use. Shapes follow Segment's Spec (common fields, context, properties).
 */

export type SegmentEventType = 'track' | 'page' | 'identify' | 'screen' | 'group' | 'alias' | 'delete';
export const EVENT_TYPES: readonly SegmentEventType[] = ['track', 'page', 'identify', 'screen', 'group', 'alias', 'delete'];

const TRACK_EVENTS = ['Order Completed', 'Product Viewed', 'Product Added', 'Checkout Started', 'Signed Up', 'Logged In'];
const PAGES = [
  ['/', 'Home'],
  ['/pricing', 'Pricing'],
  ['/docs/getting-started', 'Getting started'],
  ['/checkout', 'Checkout'],
  ['/blog/streaming-sql', 'Streaming SQL'],
] as const;

export interface SampleOptions {
  /** Event types to cycle through (default: all). */
  readonly types?: readonly SegmentEventType[];
  /** Distinguishes messageIds between runs (default: a fixed prefix). */
  readonly runId?: string;
  /** Pads properties so each event is about this many bytes of JSON (default: natural size). */
  readonly targetBytes?: number;
  readonly start?: Date;
}

export function sampleEvents(count: number, options: SampleOptions = {}): Array<Record<string, unknown>> {
  const types = options.types ?? EVENT_TYPES;
  const start = (options.start ?? new Date('2026-11-22T12:00:00.000Z')).getTime();
  const run = options.runId ?? 'sample';
  const events: Array<Record<string, unknown>> = [];
  for (let index = 0; index < count; index++) {
    const type = types[index % types.length]!;
    const user = `user_${(index * 7919) % 97}`;
    const at = new Date(start + index * 1000).toISOString();
    const common: Record<string, unknown> = {
      type,
      messageId: `${run}-${type}-${index}`,
      anonymousId: `anon-${(index * 104729) % 1013}`,
      userId: user,
      timestamp: at,
      sentAt: at,
      receivedAt: at,
      originalTimestamp: at,
      writeKey: 'sample-write-key-not-forwarded',
      version: 2,
      integrations: {},
      context: {
        library: { name: 'analytics.js', version: '5.2.0' },
        ip: `203.0.113.${index % 250}`,
        locale: 'en-US',
        userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
        page: { path: PAGES[index % PAGES.length]![0], url: `https://shop.example.com${PAGES[index % PAGES.length]![0]}` },
      },
    };
    events.push(pad({ ...common, ...specific(type, index, user) }, options.targetBytes));
  }
  return events;
}

function specific(type: SegmentEventType, index: number, user: string): Record<string, unknown> {
  switch (type) {
    case 'track':
      return { event: TRACK_EVENTS[index % TRACK_EVENTS.length], properties: { orderId: `order-${index}`, revenue: (index % 50) + 9.99, currency: 'USD', products: [{ product_id: `sku-${index % 13}`, price: 19, quantity: 1 }] } };
    case 'page': {
      const [pagePath, title] = PAGES[index % PAGES.length]!;
      return { name: title, properties: { path: pagePath, title, url: `https://shop.example.com${pagePath}`, referrer: 'https://www.google.com/' } };
    }
    case 'identify':
      return { traits: { email: `${user}@example.com`, name: `User ${user.slice(5)}`, plan: index % 3 === 0 ? 'pro' : 'free', createdAt: '2026-01-15T09:00:00.000Z' } };
    case 'screen':
      return { name: ['Home', 'Cart', 'Settings'][index % 3], properties: { variation: index % 2 === 0 ? 'blue' : 'green' }, context: { device: { type: 'ios', model: 'iPhone15,2' }, os: { name: 'iOS', version: '17.1' }, app: { name: 'Shop', version: '3.4.1' } } };
    case 'group':
      return { groupId: `company-${index % 11}`, traits: { name: `Company ${index % 11}`, industry: 'Retail', employees: 40 + (index % 11) * 10 } };
    case 'alias':
      return { previousId: `anon-${(index * 104729) % 1013}` };
    case 'delete':
      return { context: { library: { name: 'segment-gdpr', version: '1.0.0' } } };
  }
}

function pad(event: Record<string, unknown>, targetBytes: number | undefined): Record<string, unknown> {
  if (!targetBytes) return event;
  const size = JSON.stringify(event).length;
  if (size >= targetBytes) return event;
  const properties = (event.properties as Record<string, unknown> | undefined) ?? {};
  return { ...event, properties: { ...properties, notes: 'x'.repeat(Math.max(0, targetBytes - size - 12)) } };
}
