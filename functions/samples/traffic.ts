/**
 * Realistic Segment traffic for a new user's first look at the marts: several hundred people
 * (a few heavy, most light), a few dozen track events with the properties Segment's e-commerce
 * and B2B specs give them, pages, screens, identifies that fill profiles, group calls, the odd
 * alias, a handful of deletes, ~1% retried deliveries (same messageId: what dedup is for), and
 * timestamps spread over the last days so daily marts have more than one row.
 *
 * `sampleEvents` (segment-events.ts) stays the cycle of every event type the tests rely on;
 * this is what `events:send` posts by default. Seeded, so a run is reproducible.
 */

const TRACK_EVENTS: ReadonlyArray<readonly [name: string, weight: number]> = [
  ['Product Viewed', 30], ['Product List Viewed', 14], ['Products Searched', 12], ['Product Clicked', 10],
  ['Product Added', 9], ['Cart Viewed', 7], ['Promotion Viewed', 6], ['Product List Filtered', 5],
  ['Checkout Started', 5], ['Checkout Step Viewed', 4], ['Checkout Step Completed', 4], ['Payment Info Entered', 3],
  ['Order Completed', 3], ['Product Removed', 3], ['Promotion Clicked', 2], ['Coupon Entered', 2],
  ['Coupon Applied', 1.5], ['Coupon Denied', 0.5], ['Product Added to Wishlist', 1.5], ['Product Shared', 1],
  ['Product Reviewed', 1], ['Order Refunded', 0.4], ['Order Cancelled', 0.3], ['Signed Up', 2],
  ['Logged In', 5], ['Logged Out', 1.5], ['Trial Started', 0.6], ['Subscription Upgraded', 0.3],
  ['Video Playback Started', 2], ['Video Playback Completed', 1], ['Email Link Clicked', 1.5], ['Feature Used', 4],
];

const PRODUCTS = [
  ['sku-1001', 'Trail Runner 3', 'Shoes', 129],
  ['sku-1002', 'City Sneaker', 'Shoes', 89],
  ['sku-2001', 'Merino Tee', 'Apparel', 45],
  ['sku-2002', 'Rain Shell', 'Apparel', 180],
  ['sku-3001', 'Day Pack 22L', 'Bags', 75],
  ['sku-3002', 'Travel Duffel', 'Bags', 140],
  ['sku-4001', 'Steel Bottle', 'Accessories', 28],
  ['sku-4002', 'Wool Socks (3)', 'Accessories', 24],
  ['sku-5001', 'Headlamp 400', 'Gear', 49],
  ['sku-5002', 'Trekking Poles', 'Gear', 110],
] as const;

const PAGES = [
  ['/', 'Home', 20], ['/products', 'All products', 12], ['/products/shoes', 'Shoes', 9], ['/products/apparel', 'Apparel', 7],
  ['/pricing', 'Pricing', 5], ['/cart', 'Cart', 6], ['/checkout', 'Checkout', 4], ['/blog/trail-season', 'Trail season is here', 3],
  ['/docs/returns', 'Returns', 2], ['/account', 'Your account', 4], ['/search', 'Search', 6], ['/about', 'About us', 1],
] as const;

const SCREENS = ['Home', 'Product', 'Cart', 'Checkout', 'Orders', 'Settings'] as const;
const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Katherine', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Radia', 'Tim', 'Frances', 'Edsger', 'Hedy', 'Donald', 'Sophie'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Johnson', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Perlman', 'Berners-Lee', 'Allen', 'Dijkstra', 'Lamarr', 'Knuth', 'Wilson'];
const COMPANIES = ['Acme Outdoor', 'Northwind', 'Globex', 'Initech', 'Umbrella Retail', 'Stark Goods', 'Wayne Supply', 'Hooli', 'Vandelay Import', 'Tyrell Gear'];
const USER_AGENTS = [
  ['analytics.js', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15'],
  ['analytics.js', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36'],
  ['analytics-ios', 'Shop/3.4.1 (iPhone; iOS 17.1; Scale/3.00)'],
  ['analytics-android', 'Shop/3.4.0 (Android 14; Pixel 8)'],
] as const;

type EventType = 'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias';
const TYPE_WEIGHTS: ReadonlyArray<readonly [EventType, number]> = [
  ['track', 55], ['page', 24], ['screen', 7], ['identify', 9], ['group', 4], ['alias', 1],
];

export interface TrafficOptions {
  /** Distinguishes messageIds between runs (default 'traffic'). */
  readonly runId?: string;
  /** Seed of the generator: the same seed and count give the same events (default 1). */
  readonly seed?: number;
  /** The latest event time (default now). */
  readonly now?: Date;
  /** How many days back the first events are (default 7). */
  readonly days?: number;
  /** People in the traffic (default count / 6, between 20 and 800). */
  readonly users?: number;
  /** Share of events in the last 30 minutes (default 0.15). */
  readonly recentShare?: number;
  /** Share of events sent twice with the same messageId, as Segment's retries do (default 0.01). */
  readonly retriedShare?: number;
}

/** `count` events in time order; deletes (a handful) come last, for people who did show up. */
export function sampleTraffic(count: number, options: TrafficOptions = {}): Array<Record<string, unknown>> {
  const random = mulberry32(options.seed ?? 1);
  const run = options.runId ?? 'traffic';
  const end = (options.now ?? new Date()).getTime();
  const span = (options.days ?? 7) * 86_400_000;
  const userCount = options.users ?? Math.min(800, Math.max(20, Math.round(count / 6)));
  const deletes = Math.min(5, Math.floor(count / 400));
  const retried = Math.floor(count * (options.retriedShare ?? 0.01));
  const fresh = Math.max(0, count - deletes - retried);

  // Times: uniform over the span, plus a share in the last half hour (traffic right now, which
  // windowed marts such as events_per_minute show); sorted, so the stream arrives in time order.
  const recentShare = options.recentShare ?? 0.15;
  const recentSpan = Math.min(span, 30 * 60_000);
  const times = Array.from({ length: fresh }, () => end - Math.floor(random() * (random() < recentShare ? recentSpan : span))).sort((a, b) => a - b);
  const events: Array<Record<string, unknown>> = [];
  const seen = new Set<number>();
  times.forEach((at, index) => {
    // Squaring a uniform draw skews activity toward low user numbers: a few heavy users, a long tail.
    const userNumber = Math.floor(random() ** 2 * userCount);
    const isFirst = !seen.has(userNumber);
    seen.add(userNumber);
    // A person's first event identifies them, so profiles fill in; 15% of other traffic is anonymous.
    const type: EventType = isFirst ? 'identify' : pickWeighted(random, TYPE_WEIGHTS);
    const anonymous = !isFirst && type !== 'identify' && type !== 'alias' && random() < 0.15;
    events.push(makeEvent(type, { index, at, userNumber, anonymous, run, random }));
  });

  for (let index = 0; index < retried && events.length > 0; index++) {
    const original = events[Math.floor(random() * events.length)]!;
    events.splice(Math.floor(random() * events.length), 0, structuredClone(original));
  }
  const active = [...seen].sort((a, b) => a - b);
  for (let index = 0; index < deletes && active.length > 0; index++) {
    const userNumber = active[Math.floor(random() * active.length)]!;
    const at = new Date(end - (deletes - index) * 1000).toISOString();
    events.push({ ...commonFields('delete', `${run}-delete-${index}`, at, userNumber, false, 0), context: { library: { name: 'segment-gdpr', version: '1.0.0' } } });
  }
  return events;
}

interface EventDraft {
  readonly index: number;
  readonly at: number;
  readonly userNumber: number;
  readonly anonymous: boolean;
  readonly run: string;
  readonly random: () => number;
}

function makeEvent(type: EventType, draft: EventDraft): Record<string, unknown> {
  const { index, userNumber, anonymous, run, random } = draft;
  const at = new Date(draft.at).toISOString();
  const common = commonFields(type, `${run}-${type}-${index}`, at, userNumber, anonymous, index);
  switch (type) {
    case 'track': {
      const [event] = pickWeighted(random, TRACK_EVENTS.map((entry) => [entry, entry[1]] as const));
      return { ...common, event, properties: trackProperties(event, index, random) };
    }
    case 'page': {
      const [pagePath, title] = pickWeighted(random, PAGES.map((page) => [page, page[2]] as const));
      const url = `https://shop.example.com${pagePath}`;
      return { ...common, name: title, properties: { path: pagePath, title, url, referrer: random() < 0.4 ? 'https://www.google.com/' : '' }, context: { ...(common.context as object), page: { path: pagePath, url, title } } };
    }
    case 'screen':
      return { ...common, name: SCREENS[Math.floor(random() * SCREENS.length)], properties: { variation: random() < 0.5 ? 'blue' : 'green' }, context: { ...(common.context as object), device: { type: 'ios', model: 'iPhone15,2' }, os: { name: 'iOS', version: '17.1' }, app: { name: 'Shop', version: '3.4.1' } } };
    case 'identify':
      return { ...common, traits: person(userNumber, random) };
    case 'group': {
      const company = companyOf(userNumber);
      return { ...common, groupId: `company-${COMPANIES.indexOf(company)}`, traits: { name: company, industry: 'Retail', employees: 20 + COMPANIES.indexOf(company) * 35, plan: userNumber % 4 === 0 ? 'enterprise' : 'team' } };
    }
    case 'alias':
      return { ...common, previousId: anonymousIdOf(userNumber) };
  }
}

function commonFields(type: string, messageId: string, at: string, userNumber: number, anonymous: boolean, index: number): Record<string, unknown> {
  const [library, userAgent] = USER_AGENTS[userNumber % USER_AGENTS.length]!;
  const sentAt = new Date(Date.parse(at) + 150 + (index % 7) * 40).toISOString();
  return {
    type,
    messageId,
    anonymousId: anonymousIdOf(userNumber),
    ...(anonymous ? {} : { userId: `user_${userNumber}` }),
    timestamp: at,
    originalTimestamp: at,
    sentAt,
    receivedAt: sentAt,
    writeKey: 'sample-write-key-not-forwarded',
    version: 2,
    integrations: {},
    context: {
      library: { name: library, version: '5.2.0' },
      ip: `203.0.113.${userNumber % 250}`,
      locale: ['en-US', 'en-GB', 'de-DE', 'fr-FR'][userNumber % 4],
      userAgent,
    },
  };
}

function trackProperties(event: string, index: number, random: () => number): Record<string, unknown> {
  const item = { ...toItem(PRODUCTS[Math.floor(random() * PRODUCTS.length)]!), quantity: 1 + Math.floor(random() * 2) };
  const { category, price } = item;
  if (event.startsWith('Order ')) {
    const products = [item, ...(random() < 0.4 ? [{ ...toItem(PRODUCTS[Math.floor(random() * PRODUCTS.length)]!), quantity: 1 }] : [])];
    const revenue = products.reduce((sum, entry) => sum + entry.price * entry.quantity, 0);
    const refund = event === 'Order Refunded' || event === 'Order Cancelled';
    return { order_id: `order-${index}`, revenue: refund ? -revenue : revenue, currency: 'USD', products };
  }
  if (event.startsWith('Product') && event !== 'Products Searched' && !event.startsWith('Product List')) return item;
  if (event === 'Products Searched') return { query: ['rain jacket', 'trail shoes', 'socks', 'backpack', 'headlamp'][Math.floor(random() * 5)] };
  if (event.startsWith('Product List')) return { list_id: `list-${category.toLowerCase()}`, category, products: [item] };
  if (event.startsWith('Checkout')) return { checkout_id: `checkout-${index}`, step: 1 + Math.floor(random() * 3), value: price, currency: 'USD' };
  if (event.startsWith('Coupon')) return { coupon_id: ['WELCOME10', 'TRAIL20', 'FREESHIP'][Math.floor(random() * 3)] };
  if (event.startsWith('Promotion')) return { promotion_id: 'promo-autumn', creative: 'banner-top', position: 'home_hero' };
  if (event.startsWith('Video')) return { session_id: `video-${index}`, position: Math.floor(random() * 120), total_length: 120 };
  if (event === 'Subscription Upgraded' || event === 'Trial Started') return { plan: 'pro', value: 29, currency: 'USD' };
  if (event === 'Feature Used') return { feature: ['wishlist', 'size guide', 'store locator', 'gift card'][Math.floor(random() * 4)] };
  return {};
}

function toItem(product: (typeof PRODUCTS)[number]): { product_id: string; name: string; category: string; price: number; quantity: number } {
  const [productId, name, category, price] = product;
  return { product_id: productId, name, category, price, quantity: 1 };
}

function person(userNumber: number, random: () => number): Record<string, unknown> {
  const firstName = FIRST_NAMES[userNumber % FIRST_NAMES.length]!;
  const lastName = LAST_NAMES[Math.floor(userNumber / FIRST_NAMES.length) % LAST_NAMES.length]!;
  return {
    email: `${firstName.toLowerCase()}.${lastName.toLowerCase()}.${userNumber}@example.com`,
    name: `${firstName} ${lastName}`,
    firstName,
    lastName,
    plan: random() < 0.25 ? 'pro' : 'free',
    company: { name: companyOf(userNumber) },
    createdAt: new Date(Date.UTC(2026, userNumber % 11, 1 + (userNumber % 27), 9)).toISOString(),
  };
}

const companyOf = (userNumber: number): string => COMPANIES[userNumber % COMPANIES.length]!;
const anonymousIdOf = (userNumber: number): string => `anon-${(userNumber * 2_654_435_761) % 4_294_967_296}`;

function pickWeighted<T>(random: () => number, entries: ReadonlyArray<readonly [T, number]>): T {
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [value, weight] of entries) {
    roll -= weight;
    if (roll < 0) return value;
  }
  return entries[entries.length - 1]![0];
}

/** A small, good-enough seeded generator (mulberry32): reproducible samples without a dependency. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}
