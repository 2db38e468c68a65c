/**
 * Golden tests: the compiled SQL of the seed pipeline, one file per model under test/golden/.
 * A change to a model, a macro or the compiler shows up here as a reviewable SQL diff
 * (update deliberately with `npx vitest run -u test/pipeline-golden.test.ts`).
 */
import { describe, expect, it } from 'vitest';
import { compileProject } from '../scripts/runner/compile.ts';
import { REPO_ROOT } from './helpers/temp-project.ts';

describe('seed pipeline, default vars (webhook path)', () => {
  const project = compileProject(REPO_ROOT, { env: {} });

  it('has the documented models in deploy order', () => {
    expect(project.order.filter((name) => project.nodes.get(name)!.kind !== 'test')).toEqual([
      'analytics_cluster',
      'segment_webhook_secret',
      'webhooks_cluster',
      'segment_source',
      'stg_segment_events',
      'stg_segment_aliases',
      'stg_segment_deletes',
      'stg_segment_groups',
      'stg_segment_identifies',
      'stg_segment_pages',
      'stg_segment_screens',
      'stg_segment_tracks',
      'daily_active_users',
      'events_per_minute',
      'high_value_customers',
      'page_views_by_url',
      'track_event_counts',
      'user_profiles',
      'daily_active_users_day_idx',
      'events_per_minute_minute_idx',
      'high_value_customers_user_id_idx',
      'page_views_by_url_url_idx',
      'track_event_counts_event_idx',
      'user_profiles_user_id_idx',
    ]);
    expect(project.disabled).toEqual(['kafka_connection', 'kafka_sasl_password', 'segment_events_json', 'segment_kafka_dead_letter', 'segment_kafka_messages', 'segment_kafka_source']);
  });

  it('ships data tests on dedup, the Spec, event types, deleted users and the marts\' keys', () => {
    const tests = project.order.filter((name) => project.nodes.get(name)!.kind === 'test');
    expect(tests).toEqual(
      expect.arrayContaining([
        'unique_stg_segment_events_message_id',
        'known_event_types',
        'events_name_someone',
        'timestamps_parse_where_present',
        'not_null_stg_segment_tracks_event',
        'deleted_users_absent_from_marts',
        'unique_daily_active_users_day',
        'unique_high_value_customers_user_id',
        'unique_page_views_by_url_url',
        'unique_track_event_counts_event',
        'unique_user_profiles_user_id',
      ]),
    );
  });

  it('keeps ingestion (schema segment, webhooks_cluster) apart from analytics (schema analytics, analytics_cluster), as blue/green needs', () => {
    for (const node of project.nodes.values()) {
      if (node.kind === 'cluster') continue;
      const ingest = ['source', 'secret', 'connection'].includes(node.kind);
      expect(node.schema, node.name).toBe(ingest ? 'segment' : 'analytics');
      if (node.cluster) expect(node.cluster, node.name).toBe(ingest ? 'webhooks_cluster' : 'analytics_cluster');
    }
  });

  it('wires the source to its cluster and the secret its CHECK uses', () => {
    expect(project.nodes.get('segment_source')!.dependsOn).toEqual(['segment_webhook_secret', 'webhooks_cluster']);
  });

  it('makes every mart leave out deleted users', () => {
    for (const name of ['daily_active_users', 'events_per_minute', 'high_value_customers', 'page_views_by_url', 'track_event_counts', 'user_profiles']) {
      expect(project.nodes.get(name)!.dependsOn).toContain('stg_segment_deletes');
    }
  });

  for (const name of project.order) {
    it(`compiles ${name}`, async () => {
      await expect(`${project.nodes.get(name)!.sql};\n`).toMatchFileSnapshot(`golden/${name}.sql`);
    });
  }
});

describe('seed pipeline with the Kafka path enabled', () => {
  const project = compileProject(REPO_ROOT, { vars: '{"kafka_enabled": true}', env: {} });

  it('adds the Kafka models and feeds them into the dedup view', () => {
    expect(project.disabled).toEqual([]);
    expect(project.nodes.get('stg_segment_events')!.dependsOn).toEqual(['analytics_cluster', 'segment_events_json', 'segment_source']);
    expect(project.nodes.get('kafka_connection')!.dependsOn).toEqual(['kafka_sasl_password']);
  });

  for (const name of ['kafka_sasl_password', 'kafka_connection', 'segment_kafka_source', 'segment_kafka_messages', 'segment_events_json', 'segment_kafka_dead_letter', 'stg_segment_events']) {
    it(`compiles ${name}`, async () => {
      await expect(`${project.nodes.get(name)!.sql};\n`).toMatchFileSnapshot(`golden/kafka/${name}.sql`);
    });
  }
});
