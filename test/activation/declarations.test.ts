/** Activation declarations: parsed and checked offline, errors at file:line with a fix; the seed's binds to its model. */
import { describe, expect, it } from 'vitest';
import { bindActivations, checkColumns, loadActivations, parseActivation, selectActivations } from '../../scripts/activation/declarations.ts';
import { compileProject } from '../../scripts/runner/compile.ts';
import { ProjectError, ProjectErrors } from '../../scripts/runner/errors.ts';
import { REPO_ROOT } from '../helpers/temp-project.ts';

function errorsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ProjectErrors) return error.errors.map((each) => each.format());
    if (error instanceof ProjectError) return [error.format()];
    throw error;
  }
  return [];
}

describe('activation declarations', () => {
  it('the seed project ships an identify activation on user_profiles that binds to its model', () => {
    const activations = loadActivations(REPO_ROOT);
    expect(activations.map((each) => each.name)).toContain('user_profile_traits');
    const [bound] = bindActivations(selectActivations(activations, ['user_profile_traits'], undefined), compileProject(REPO_ROOT, { env: {} }));
    expect(bound).toMatchObject({ schema: 'analytics', relation: 'user_profiles', cluster: 'analytics_cluster' });
    expect(bound!.activation.destination).toMatchObject({ kind: 'segment', segment: { call: 'identify', userId: 'user_id', onDelete: 'null_traits' } });
  });

  it('the seed project ships high_value_customers: an identify of computed traits on its mart, nulled when a customer leaves it', () => {
    const activations = loadActivations(REPO_ROOT);
    const [bound] = bindActivations(selectActivations(activations, ['high_value_customers'], undefined), compileProject(REPO_ROOT, { env: {} }));
    expect(bound).toMatchObject({ schema: 'analytics', relation: 'high_value_customers', cluster: 'analytics_cluster' });
    expect(bound!.activation.destination).toMatchObject({ kind: 'segment', segment: { call: 'identify', userId: 'user_id', onDelete: 'null_traits' } });
    const segment = bound!.activation.destination.kind === 'segment' ? bound!.activation.destination.segment : null;
    expect([...segment!.traits.keys()]).toEqual(['high_value_customer', 'lifetime_value', 'orders_completed', 'orders_refunded', 'last_order_at']);
  });

  it('refuses incomplete or contradictory mappings, each at its line with a fix', () => {
    expect(errorsOf(() => parseActivation('activations/a.yml', 'model: m\nkey: [id]\ndestination: segment\n'))).toEqual([
      "activations/a.yml:3:1: destination segment needs a 'segment:' block\n  fix: add 'segment:' with the mapping (call, user_id, traits…)",
    ]);
    const track = errorsOf(() => parseActivation('activations/a.yml', 'model: m\nkey: [id]\ndestination: segment\nsegment:\n  call: track\n  user_id: id\n  traits: [x]\n  on_delete: null_traits\n'));
    expect(track.join('\n')).toContain('a Segment track needs exactly one of event and event_column');
    expect(track.join('\n')).toContain('activations/a.yml:7:3: traits are for identify and group');
    expect(track.join('\n')).toContain('on_delete: null_traits needs an identify or group call');
    expect(errorsOf(() => parseActivation('activations/a.yml', 'model: m\nkey: [id]\ndestination: webhook\nwebhook:\n  url: https://x.io\n  secret: abc\n')).join('\n')).toContain("unknown key 'webhook.secret'");
    expect(errorsOf(() => parseActivation('activations/Bad-Name.yml', 'model: m\n'))[0]).toContain('is not a valid activation name');
  });

  it('names a column the relation lacks at the line that maps it', () => {
    const activation = parseActivation('activations/a.yml', 'model: m\nkey: [id]\ndestination: segment\nsegment:\n  call: identify\n  user_id: id\n  traits:\n    email: emial\n');
    expect(errorsOf(() => checkColumns(activation, ['id', 'email'], 'public.m'))).toEqual([
      "activations/a.yml:7:3: activation a: public.m has no column 'emial' (did you mean 'email'?)\n  fix: its columns: id, email",
    ]);
  });

  it('selects by activation or model name and refuses unknown names', () => {
    const a = parseActivation('activations/a.yml', 'model: m\nkey: [id]\ndestination: webhook\nwebhook:\n  url: https://x.io\n  secret_env: S\n');
    const b = parseActivation('activations/b.yml', 'model: n\nkey: [id]\ndestination: webhook\nwebhook:\n  url: https://x.io\n  secret_env: S\n');
    expect(selectActivations([a, b], ['n'], undefined).map((each) => each.name)).toEqual(['b']);
    expect(selectActivations([a, b], undefined, ['a']).map((each) => each.name)).toEqual(['b']);
    expect(errorsOf(() => selectActivations([a, b], ['c'], undefined))[0]).toContain("no activation or activated model named 'c'");
  });
});
