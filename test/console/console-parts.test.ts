/**
 * The console's parts without a browser: the request log's windows and counts, rejection reasons,
 * the project board's status transitions, and the lineage layout.
 */
import { describe, expect, it } from 'vitest';
import { layoutGraph } from '../../console/src/layout.ts';
import { errorPosition, pointAt } from '../../console/src/error-pointer.ts';
import { ProjectBoard, type BoardChange } from '../../scripts/console/project-board.ts';
import { RequestLog, segmentEventTypes, WINDOW_SECONDS } from '../../scripts/local/http/request-log.ts';
import { badBodyReason, checkShape, failedCheckReason, tooLargeReason, unknownSourceReason } from '../../scripts/local/http/webhook/rejection-reasons.ts';
import { ProjectError } from '../../scripts/runner/errors.ts';
import { compileProject } from '../../scripts/runner/compile.ts';
import type { ActionResult } from '../../scripts/runner/deploy/deploy-execute.ts';
import type { DeployedState } from '../../scripts/runner/deploy/deploy-state.ts';
import { tempProject } from '../helpers/temp-project.ts';

describe('request log', () => {
  it('keeps the last 100 requests, counts per status per target and per-second buckets', () => {
    let now = 1_700_000_000_000;
    const log = new RequestLog(() => now);
    for (let index = 0; index < 130; index++) {
      log.record({ time: now, target: 'segment.src', status: index % 10 === 0 ? 400 : 200, bytes: 10, events: index % 10 === 0 ? 0 : 2, body: Buffer.from('{"type":"track"}'), ms: 1 });
      if (index % 50 === 49) now += 1000;
    }
    log.record({ time: now, target: 'public.other', status: 404, bytes: 0, events: 0, reason: 'no source', ms: 1 });
    const snapshot = log.snapshot();
    expect(snapshot.recent).toHaveLength(100);
    expect(snapshot.recent.at(-1)!.reason).toBe('no source');
    expect(snapshot.recent[0]!.eventTypes).toEqual(['track']);
    expect(JSON.parse(JSON.stringify(snapshot.recent.at(-1)))).toMatchObject({ eventTypes: [], reason: 'no source' });
    expect(snapshot.targets.map((target) => target.target)).toEqual(['public.other', 'segment.src']);
    const source = snapshot.targets[1]!;
    expect(source.statuses).toEqual({ 200: 117, 400: 13 });
    expect(source.requests).toHaveLength(WINDOW_SECONDS);
    expect(source.requests.slice(-3)).toEqual([50, 50, 30]);
    expect(source.events.slice(-3)).toEqual([90, 90, 54]);
    // Five minutes later the old seconds have left the window; the counts stay.
    now += WINDOW_SECONDS * 1000;
    const later = log.snapshot().targets[1]!;
    expect(later.requests.every((count) => count === 0)).toBe(true);
    expect(later.statuses[200]).toBe(117);
  });

  it('tells listeners of each request', () => {
    const log = new RequestLog();
    const seen: number[] = [];
    const stop = log.listen((record) => seen.push(record.status));
    log.record({ time: 1, target: 't', status: 200, bytes: 1, events: 1, ms: 0 });
    stop();
    log.record({ time: 2, target: 't', status: 413, bytes: 1, events: 0, ms: 0 });
    expect(seen).toEqual([200]);
  });

  it('reads Segment event types from single events, batches and {batch: [...]}', () => {
    expect(segmentEventTypes(Buffer.from('{"type":"track","event":"x"}'))).toEqual(['track']);
    expect(segmentEventTypes(Buffer.from('[{"type":"page"},{"type":"identify"},{"type":"page"}]'))).toEqual(['page', 'identify']);
    expect(segmentEventTypes(Buffer.from('{"batch":[{"type":"alias"}]}'))).toEqual(['alias']);
    expect(segmentEventTypes(Buffer.from('not json'))).toEqual([]);
    expect(segmentEventTypes(Buffer.from('{"no":"type"}'))).toEqual([]);
  });
});

describe('rejection reasons', () => {
  const seedCheck = "constant_time_eq(decode(headers->'x-signature', 'hex'), hmac(body, validation_secret, 'sha1'))";

  it('finds the headers and the HMAC a CHECK reads', () => {
    expect(checkShape(seedCheck)).toEqual({ headers: ['x-signature'], usesHmac: true });
    expect(checkShape("headers ->> 'X-Token' = 'abc' AND headers->'it''s' IS NOT NULL")).toEqual({ headers: ['x-token', "it's"], usesHmac: false });
  });

  it('says a signature does not match, or that the request is not signed at all', () => {
    const shape = checkShape(seedCheck);
    expect(failedCheckReason(shape, new Map([['x-signature', 'abc']]))).toMatch(/^signature does not match: check the function's sharedSecret/);
    expect(failedCheckReason(shape, new Map())).toMatch(/^no 'x-signature' header: the request is not signed/);
    expect(failedCheckReason(checkShape("headers->'x-token' = 'a'"), new Map([['x-token', 'b']]))).toBe("the source's CHECK returned false for this request");
  });

  it('explains bodies, sizes and unknown sources', () => {
    expect(badBodyReason('failed to deserialize body as Jsonb: expected value at line 1 column 18', 17)).toBe('not valid JSON at byte 17: expected value');
    expect(tooLargeReason(3 * 1024 * 1024, 2 * 1024 * 1024)).toBe('body of 3.0 MB is over the 2.0 MB limit: send smaller batches');
    expect(unknownSourceReason('materialize', 'public', 'segmnt', ['segment.segment_source'])).toBe(
      "no webhook source materialize.public.segmnt: check the URL's database/schema/source (webhook sources here: segment.segment_source)",
    );
  });
});

describe('project board', () => {
  const project = () =>
    compileProject(
      tempProject({
        'models/hooks.sql': '---\nkind: source\n---\nFROM WEBHOOK BODY FORMAT JSON ARRAY\n',
        'models/events.sql': "SELECT body->>'id' AS id FROM {{ref.hooks}}\n",
        'models/counts.sql': '---\nkind: materialized_view\n---\nSELECT count(*) AS n FROM {{ref.events}}\n',
      }),
    );
  const deployedAs = (compiled: ReturnType<typeof project>, names: string[]): DeployedState =>
    new Map(
      names.map((name) => {
        const node = compiled.nodes.get(name)!;
        return [name, { name, kind: node.kind, schema: node.schema, parent: null, dependsOn: node.dependsOn, checksum: node.checksum, stateChecksum: '', secretFingerprint: null, deployedAt: '' }];
      }),
    );
  const action = (model: string, overrides: Partial<ActionResult>): ActionResult => ({ model, action: 'replace', kind: 'view', reason: 'changed', status: 'done', ms: 3, ...overrides });

  it('takes statuses from the deployed state: deployed, changed, not deployed', () => {
    const compiled = project();
    const board = new ProjectBoard();
    const state = deployedAs(compiled, ['hooks', 'events']);
    state.set('events', { ...state.get('events')!, checksum: 'older' });
    board.setProject(compiled, state);
    const statuses = Object.fromEntries(board.snapshot().nodes.map((node) => [node.name, node.status]));
    expect(statuses).toEqual({ hooks: 'deployed', events: 'changed', counts: 'not_deployed' });
    expect(board.node('events')!.dependents).toEqual(['counts']);
    expect(board.node('counts')!.depth).toBe(2);
  });

  it('follows a save: redeploying, then deployed (with the action), or failed at file:line', async () => {
    const compiled = project();
    const board = new ProjectBoard(() => 1000);
    board.setProject(compiled, deployedAs(compiled, ['hooks', 'events', 'counts']));
    await Promise.resolve(); // the graph's own change
    const changes: BoardChange[] = [];
    board.listen((change) => changes.push(change));
    board.cycleStarted(['models/events.sql']);
    expect(board.node('events')!.status).toBe('redeploying');
    board.actionFinished(action('events', {}));
    board.actionFinished(action('counts', { status: 'failed', failure: { model: 'counts', message: 'division by zero', code: '22012', location: { file: 'models/counts.sql', line: 4 }, sqlLine: undefined, detail: undefined, hint: undefined } }));
    expect(board.node('events')!.history.map((event) => [event.status, event.detail])).toEqual([
      ['redeploying', 'saved models/events.sql'],
      ['deployed', 'replaced in 3 ms'],
    ]);
    expect(board.node('events')!.deployedVersion).toBe(1);
    expect(board.node('counts')).toMatchObject({ status: 'failed', error: 'division by zero', location: 'models/counts.sql:4' });
    await Promise.resolve();
    // One batched change naming both nodes.
    expect(changes).toEqual([{ kind: 'nodes', nodes: [board.node('events'), board.node('counts')] }]);
  });

  it('fails the file of a compile error and settles the rest as they were', () => {
    const compiled = project();
    const board = new ProjectBoard();
    board.setProject(compiled, deployedAs(compiled, ['hooks', 'events', 'counts']));
    board.cycleStarted(['models/events.sql', 'models/counts.sql']);
    board.cycleFinished({ changed: ['models/events.sql'], compileMs: 1, totalMs: 1, errors: [new ProjectError("unknown ref 'evnts'", { file: 'models/counts.sql', line: 4, column: 22 }, 'did you mean events?')] }, null);
    expect(board.node('counts')).toMatchObject({ status: 'failed', location: 'models/counts.sql:4:22', error: "unknown ref 'evnts' — fix: did you mean events?" });
    expect(board.node('events')!.status).toBe('deployed');
  });
});

describe('lineage layout', () => {
  it('puts each depth in a column and orders rows to follow what they read', () => {
    const nodes = [
      { name: 'src_b', depth: 0, dependsOn: [], dependents: ['view_b'] },
      { name: 'src_a', depth: 0, dependsOn: [], dependents: ['view_a'] },
      { name: 'view_b', depth: 1, dependsOn: ['src_b'], dependents: [] },
      { name: 'view_a', depth: 1, dependsOn: ['src_a'], dependents: [] },
    ];
    const layout = layoutGraph(nodes);
    expect(layout.columns).toEqual([
      ['src_a', 'src_b'],
      ['view_a', 'view_b'],
    ]);
    expect(layout.positions.get('view_b')!.y).toBeGreaterThan(layout.positions.get('view_a')!.y);
    expect(layout.positions.get('view_a')!.x).toBeGreaterThan(layout.positions.get('src_a')!.x);
  });

  it('lays out 1,000 nodes', () => {
    const nodes = Array.from({ length: 1000 }, (_, index) => ({
      name: `m${index}`,
      depth: index < 10 ? 0 : 1 + (index % 5),
      dependsOn: index < 10 ? [] : [`m${index % 10}`],
      dependents: [],
    }));
    const layout = layoutGraph(nodes);
    expect(layout.positions.size).toBe(1000);
    expect(new Set([...layout.positions.values()].map((placed) => `${placed.x},${placed.y}`)).size).toBe(1000);
  });
});

describe('SQL shell error pointer', () => {
  it('turns a 1-based position into line, column and the line text', () => {
    expect(pointAt('SELECT 1\nFROM nope', 15)).toEqual({ line: 2, column: 6, text: 'FROM nope' });
    expect(pointAt('SELEC 1', 1)).toEqual({ line: 1, column: 1, text: 'SELEC 1' });
  });

  it('finds what the error quotes (the API gives no position)', () => {
    expect(errorPosition('SELECT 1\nFROM nope', "unknown catalog item 'nope'")).toBe(15);
    expect(errorPosition('SELEC 1', 'syntax error at or near "SELEC"')).toBe(1);
    // A whole word only: 'id' is not found inside 'user_id'.
    expect(errorPosition('SELECT user_id, id FROM t', 'column "id" does not exist')).toBe(17);
    expect(errorPosition('SELECT 1', 'division by zero')).toBeNull();
  });
});
