import { describe, expect, it } from 'vitest';
import { ProjectError, ProjectErrors } from '../scripts/runner/errors.ts';
import { mergeVars, parseProjectConfig, resolveTarget } from '../scripts/runner/project-config.ts';

function configError(text: string): ProjectError {
  try {
    parseProjectConfig('/project', text);
  } catch (error) {
    if (error instanceof ProjectError) return error;
    if (error instanceof ProjectErrors) return error.errors[0]!;
    throw error;
  }
  throw new Error('expected an error');
}

const PROD = `name: p
targets:
  prod:
    type: materialize
    host_env: MZ_HOST
    user: svc
    password_env: MZ_PASSWORD
    cluster_env: MZ_CLUSTER
vars:
  window: 60
  enabled: false
`;

describe('project.yml validation', () => {
  it('accepts a minimal project and adds the embedded local target', () => {
    const config = parseProjectConfig('/project', 'name: p\n');
    expect(config.defaultTarget).toBe('local');
    expect(resolveTarget(config, undefined, {})).toMatchObject({ name: 'local', type: 'local', schema: 'public', cluster: 'quickstart', database: 'materialize', dataDir: '/project/.materialize/data' });
  });

  it('names the file, line, key and allowed keys for an unknown key', () => {
    const error = configError('name: p\ntargets:\n  local:\n    type: local\n    dataDir: x\n');
    expect(error.format()).toBe("project.yml:5:5: unknown key 'targets.local.dataDir' in project.yml (did you mean 'data_dir'?)\n  fix: allowed keys here: type, data_dir, host, port, database, schema, cluster");
  });

  it('has no key for a literal password, so one cannot be committed', () => {
    const error = configError('name: p\ntargets:\n  prod:\n    type: materialize\n    host: h\n    password: hunter2\n');
    expect(error.message).toBe("unknown key 'targets.prod.password' in project.yml");
    expect(error.fix).toContain('password_env');
    expect(error.format()).not.toContain('hunter2');
  });

  it('reports a wrong type at its line', () => {
    const error = configError('name: p\ntargets:\n  prod:\n    type: materialize\n    host: h\n    port: "6875"\n');
    expect(error.format()).toMatch(/^project\.yml:6:5: targets\.prod\.port: expected number/);
  });

  it('reports a missing name and a bad target type', () => {
    expect(configError('targets: {}\n').message).toContain('name: expected string');
    expect(configError('name: p\ntargets:\n  x:\n    type: postgres\n').location?.line).toBe(4);
  });

  it('refuses a default_target that does not exist', () => {
    const error = configError('name: p\ndefault_target: prod\n');
    expect(error.format()).toBe("project.yml:2:1: default_target 'prod' is not a target\n  fix: define it under targets, or use one of: local");
  });

  it('reports invalid YAML with its line', () => {
    expect(configError('name: p\nvars:\n  a: [1, 2\n').format()).toMatch(/^project\.yml:\d+:\d+: invalid YAML/);
  });
});

describe('targets', () => {
  const config = parseProjectConfig('/project', PROD);

  it('resolves a Materialize target from the environment', () => {
    const target = resolveTarget(config, 'prod', { MZ_HOST: 'abc.materialize.cloud', MZ_PASSWORD: 's3cret', MZ_CLUSTER: 'prod_cluster' });
    expect(target).toMatchObject({ type: 'materialize', cluster: 'prod_cluster', connection: { host: 'abc.materialize.cloud', port: 6875, user: 'svc', password: 's3cret', sslmode: 'require' } });
  });

  it('names the unset variable, its key and line, and never a value', () => {
    try {
      resolveTarget(config, 'prod', { MZ_HOST: 'h', MZ_CLUSTER: 'c' });
      expect.unreachable();
    } catch (error) {
      expect((error as ProjectError).format()).toBe(
        'project.yml:7:5: targets.prod.password_env: environment variable MZ_PASSWORD is not set\n  fix: export MZ_PASSWORD=… before running, or pick another target with --target',
      );
    }
  });

  it('only checks the environment of the selected target', () => {
    expect(resolveTarget(config, 'local', {}).type).toBe('local');
  });

  it('refuses an unknown target with the list of targets', () => {
    expect(() => resolveTarget(config, 'staging', {})).toThrowError("unknown target 'staging'");
  });
});

describe('--vars', () => {
  const config = parseProjectConfig('/project', PROD);

  it('overrides declared vars from JSON or YAML', () => {
    expect(mergeVars(config, '{"window": 5}')).toEqual({ window: 5, enabled: false });
    expect(mergeVars(config, 'enabled: true')).toEqual({ window: 60, enabled: true });
  });

  it('refuses an undeclared var, suggesting the declared one', () => {
    expect(() => mergeVars(config, '{"windw": 5}')).toThrowError("--vars sets 'windw', which project.yml does not declare (did you mean 'window'?)");
  });

  it('refuses something that is not an object', () => {
    expect(() => mergeVars(config, '[1]')).toThrowError('--vars must be an object');
    expect(() => mergeVars(config, '{"a": ')).toThrowError(/--vars is not valid YAML or JSON/);
  });
});
