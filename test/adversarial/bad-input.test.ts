/**
 * Bad input to every command, as a hostile new user would give it: each must be a clear error with
 * the file and line and a fix — never an `internal error:` with a stack trace, never silence.
 */
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer } from '../../scripts/local/local-server.ts';
import { compileProject } from '../../scripts/runner/compile.ts';
import { Deployer } from '../../scripts/runner/deploy/deployer.ts';
import { secretValue } from '../../scripts/runner/deploy/deploy-secrets.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { runScript } from '../helpers/run-script.ts';
import { tempProject, temporaryDirectory } from '../helpers/temp-project.ts';


/** The formatted error a compile throws (file:line:col: message, fix). */
function compileError(root: string, options: { vars?: string; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    compileProject(root, { env: {}, ...options });
  } catch (error) {
    return (error as { format(): string }).format();
  }
  throw new Error('compiled without an error');
}

const cli = (script: string, args: string[]) => runScript(script, args);

describe('vars are type-checked against their declared defaults', () => {
  const project = (vars: string) => tempProject({ 'project.yml': `name: p\nvars:\n${vars}`, 'models/m.sql': "SELECT INTERVAL '{{vars.window}} minutes' AS w\n" });

  it('a var declared as null is refused at its line, not rendered as empty text', () => {
    expect(compileError(project('  window: null\n'))).toBe(`project.yml:3:3: var 'window' has no value (null)\n  fix: give it a default value; for a switch use true or false, for "nothing" an empty string ""`);
  });

  it('a quoted "false" for a declared boolean is refused, with the fix', () => {
    const root = tempProject({ 'project.yml': 'name: p\nvars:\n  window: 5\n  on: false\n', 'models/m.sql': "---\nenabled: {{vars.on}}\n---\nSELECT 1 AS x\n" });
    expect(compileError(root, { vars: '{"on": "false"}' })).toBe(
      `project.yml:4:3: --vars sets 'on' to the string "false", but project.yml declares it as a boolean (default false)\n  fix: pass it without quotes: --vars '{"on": false}'`,
    );
    expect(compileError(root, { vars: '{"window": null}' })).toMatch(/^project\.yml:3:3: --vars sets 'window' to null, but project\.yml declares it as a number \(default 5\)/);
  });
});

describe('graph and model errors point at the file and line', () => {
  it('a dependency cycle points at the ref that closes it', () => {
    const root = tempProject({ 'models/a.sql': 'SELECT x FROM {{ref.b}}\n', 'models/b.sql': 'SELECT 1 AS x\nFROM\n  {{ref.a}}\n' });
    expect(compileError(root)).toMatch(/^1 error:\nmodels\/a\.sql:1:15: dependency cycle: a → b → a/);
  });

  it('a model that refs itself through a macro names the macro and its line', () => {
    const root = tempProject({ 'macros/latest.sql': 'SELECT 1 AS x\nFROM {{ref.c}}\n', 'models/c.sql': '{{> latest}}\n' });
    expect(compileError(root)).toMatch(/^macros\/latest\.sql:2:6: model 'c' refs itself through macro latest \(macros\/latest\.sql\), which it includes/);
  });

  it('two files with one model name: the second file, line 1', () => {
    const root = tempProject({ 'models/x/d.sql': 'SELECT 1 AS x\n', 'models/y/d.sql': 'SELECT 1 AS x\n' });
    expect(compileError(root)).toMatch(/^models\/y\/d\.sql:1: model name 'd' is used by two files/);
  });

  it('a model file ending in .SQL is not silently skipped', () => {
    const root = tempProject({ 'models/e.SQL': 'SELECT 1 AS x\n' });
    expect(compileError(root)).toBe("models/e.SQL: 'e.SQL' ends in '.SQL', so it is not read as a model\n  fix: rename it to e.sql (lower case)");
  });

  it('an unknown front-matter key suggests the one meant', () => {
    const root = tempProject({ 'models/f.sql': '---\ndescription: a model\nkindd: view\n---\nSELECT 1 AS x\n' });
    expect(compileError(root)).toMatch(/models\/f\.sql:3:1: unknown key 'kindd' in front matter \(did you mean 'kind'\?\)/);
  });

  it('a wrong type says "an object"/"an array", not "a object"', () => {
    const root = tempProject({ 'models/g.sql': '---\ntags: 5\n---\nSELECT 1 AS x\n' });
    expect(compileError(root)).toMatch(/fix: write an array here/);
  });

  it('a YAML alias bomb in front matter is refused at once with its line', () => {
    const lines = ['---', 'a: &a ["x","x","x","x","x","x","x","x","x"]'];
    let previous = 'a';
    for (const name of 'bcdefgh') {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
      previous = name;
    }
    const root = tempProject({ 'models/bomb.sql': [...lines, 'description: *h', '---', 'SELECT 1 AS x', ''].join('\n') });
    expect(compileError(root)).toMatch(/^models\/bomb\.sql:2:1: invalid YAML: Excessive alias count .*\n {2}fix: write the values out instead of nesting aliases/);
  });

  it('a missing secret variable points at its mapping in project.yml', () => {
    const root = tempProject({
      'project.yml': 'name: p\ntargets:\n  prod:\n    type: materialize\n    host: h\nsecrets:\n  hook_secret: HOOK_SECRET\n',
      'models/hook_secret.sql': '---\nkind: secret\n---\n',
    });
    const project = compileProject(root, { target: 'prod', env: {} });
    expect(() => secretValue(project, 'hook_secret', {})).toThrow(expect.objectContaining({ location: { file: 'project.yml', line: 7, column: 3 } }));
  });
});

describe('connections and servers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });

  const materializeTarget = (port: number, sslmode: string) =>
    tempProject({ 'project.yml': `name: p\ntargets:\n  prod:\n    type: materialize\n    host: 127.0.0.1\n    port: ${port}\n    sslmode: ${sslmode}\n`, 'models/m.sql': 'SELECT 1 AS x\n' });

  async function openError(root: string): Promise<string> {
    const error = await Deployer.open(compileProject(root, { target: 'prod', env: {} })).then(
      async (deployer) => {
        await deployer.close();
        throw new Error('connected');
      },
      (caught: { format(): string }) => caught.format(),
    );
    return error;
  }

  it('connection refused names the target, where, and what to check', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    expect(await openError(materializeTarget(closed, 'disable'))).toMatch(
      new RegExp(`^project\\.yml: cannot connect to target prod \\(prod \\(127\\.0\\.0\\.1:${closed}/materialize, sslmode=disable\\)\\): .*ECONNREFUSED.*\\n {2}fix: nothing accepts connections there`),
    );
  });

  it('a server without TLS, asked for verify-full, is explained', async () => {
    expect(await openError(materializeTarget(t.server.pgPort, 'verify-full'))).toMatch(/cannot connect to target prod .*does not support SSL.*\n {2}fix: the server does not speak TLS: set sslmode: disable/);
  });

  it('a port in use is an error with the flag to change, not a stack trace', async () => {
    const result = await cli('local.ts', ['--memory', '--pg-port', String(t.server.pgPort), '--http-port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: 127.0.0.1:${t.server.pgPort} is already in use, so the Postgres wire server cannot listen there. Stop what uses it, or pass --pg-port <port>`);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  }, 30_000);

  it('a console port in use is an error naming --console-port and --no-console', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await cli('local.ts', ['--memory', '--pg-port', '0', '--http-port', '0', '--console-port', String(port)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error: 127.0.0.1:${port} is already in use, so the console cannot listen there. Stop what uses it, pass --console-port <port> (0 picks a free one), or --no-console.`);
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('models:graph --out into a folder that does not exist yet creates it', async () => {
    const root = tempProject({ 'models/m.sql': 'SELECT 1 AS x\n' });
    const out = path.join(temporaryDirectory('segmat-graph-'), 'docs/deep/lineage.mmd');
    const result = await cli('models-graph.ts', ['--project-dir', root, '--format', 'mermaid', '--out', out]);
    expect(result.code).toBe(0);
    expect(existsSync(out)).toBe(true);
  }, 30_000);

  it('shared buffers from the environment that are not a size are refused before anything starts, naming the variable', async () => {
    const before = process.env.LOCAL_SERVER_SHARED_BUFFERS;
    process.env.LOCAL_SERVER_SHARED_BUFFERS = 'plenty';
    try {
      await expect(startLocalServer({ memory: true, pgPort: 0, httpPort: 0 })).rejects.toThrow("LOCAL_SERVER_SHARED_BUFFERS='plenty' is not a size such as 16MB or 1GB: set it to one, or unset it for the default 128MB");
    } finally {
      if (before === undefined) delete process.env.LOCAL_SERVER_SHARED_BUFFERS;
      else process.env.LOCAL_SERVER_SHARED_BUFFERS = before;
    }
  });

  it('a data directory reached through a symbolic link opens (one lock for both spellings)', async () => {
    const base = temporaryDirectory('segmat-link-');
    mkdirSync(path.join(base, 'real'));
    symlinkSync(path.join(base, 'real'), path.join(base, 'linked'));
    const server = await startLocalServer({ dataDir: path.join(base, 'linked'), pgPort: 0, httpPort: 0 });
    try {
      expect(server.dataDir).toBe(path.join(base, 'real'));
      await expect(startLocalServer({ dataDir: path.join(base, 'real'), pgPort: 0, httpPort: 0 })).rejects.toThrow(/another local server .* is using/);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
