import { describe, expect, it } from 'vitest';
import { LineIndex } from '../scripts/runner/line-index.ts';
import { parseTemplate, TemplateSyntaxError } from '../scripts/runner/template/parse.ts';
import { renderTemplate, TemplateRenderError, type RenderOptions, type TemplateSource } from '../scripts/runner/template/render.ts';

function source(text: string, file = 'models/m.sql', lineOffset = 0): TemplateSource {
  return { file, tokens: parseTemplate(text), lines: new LineIndex(text, lineOffset) };
}

function render(text: string, view: object, partials: Record<string, string> = {}, extra: Partial<RenderOptions> = {}): string {
  const parsed = Object.fromEntries(Object.entries(partials).map(([name, body]) => [name, source(body, `macros/${name}.sql`)]));
  return renderTemplate(source(text), view, {
    partial: (name) => parsed[name],
    partialNames: () => Object.keys(parsed),
    ...extra,
  });
}

function renderError(text: string, view: object, partials: Record<string, string> = {}): TemplateRenderError {
  try {
    render(text, view, partials);
  } catch (error) {
    if (error instanceof TemplateRenderError) return error;
    throw error;
  }
  throw new Error('expected a render error');
}

function syntaxError(text: string): TemplateSyntaxError {
  try {
    parseTemplate(text);
  } catch (error) {
    if (error instanceof TemplateSyntaxError) return error;
    throw error;
  }
  throw new Error('expected a syntax error');
}

describe('rendering', () => {
  it('never HTML-escapes: SQL quotes, <, > and & survive', () => {
    expect(render("WHERE a = {{v}} AND b <> '&'", { v: "'x' < \"y\" & z" })).toBe("WHERE a = 'x' < \"y\" & z AND b <> '&'");
    expect(render('{{{v}}} {{&v}}', { v: '<b>' })).toBe('<b> <b>');
  });

  it('resolves dotted names, numbers and booleans', () => {
    expect(render('{{vars.window}} minutes, enabled={{vars.on}}', { vars: { window: 60, on: false } })).toBe('60 minutes, enabled=false');
  });

  it('renders objects that define toString (relations) and refuses plain objects and lists', () => {
    const relation = { name: 'x', toString: () => '"public"."x"' };
    expect(render('FROM {{this}}', { this: relation })).toBe('FROM "public"."x"');
    expect(renderError('{{vars}}', { vars: { a: 1 } }).message).toBe("'{{vars}}' is an object, not text");
    expect(renderError('{{list}}', { list: [1] }).fix).toContain('{{#list}}');
  });

  it('renders sections over lists, objects and booleans, and inverted sections', () => {
    const view = { cols: [{ name: 'a' }, { name: 'b' }], on: true, off: false, none: [] as string[] };
    expect(render('{{#cols}}{{name}},{{/cols}}', view)).toBe('a,b,');
    expect(render('{{#on}}yes{{/on}}{{#off}}no{{/off}}{{^off}}not off{{/off}}{{^none}} empty{{/none}}', view)).toBe('yesnot off empty');
    expect(render('{{#items}}{{.}} {{/items}}', { items: ['x', 'y'] })).toBe('x y ');
  });

  it('removes standalone section lines, as mustache does', () => {
    const text = 'SELECT a\n  {{#extra}}\n  UNION ALL SELECT b\n  {{/extra}}\nFROM t\n';
    expect(render(text, { extra: true })).toBe('SELECT a\n  UNION ALL SELECT b\nFROM t\n');
    expect(render(text, { extra: false })).toBe('SELECT a\nFROM t\n');
  });

  it('indents standalone partials and drops the final newline of inline ones', () => {
    const partials = { cols: 'a,\nb,\n', cond: 'x = 1\nAND y = 2\n' };
    expect(render('SELECT\n  {{> cols}}\n  c\n', {}, partials)).toBe('SELECT\n  a,\n  b,\n  c\n');
    expect(render('WHERE {{> cond}}\nGROUP BY 1', {}, partials)).toBe('WHERE x = 1\n      AND y = 2\nGROUP BY 1');
  });

  it('switches delimiters so SQL can contain {{ ', () => {
    expect(render("{{=<% %>=}}SELECT '{{1,2},{3,4}}'::int[][], <%v%>", { v: 'ok' })).toBe("SELECT '{{1,2},{3,4}}'::int[][], ok");
  });
});

describe('strict names', () => {
  it('reports an unknown name at file:line:col with a suggestion', () => {
    const error = renderError('SELECT 1\nFROM x\nWHERE y > {{vars.widnow}}', { vars: { window: 1 } });
    expect([error.file, error.line, error.column]).toEqual(['models/m.sql', 3, 11]);
    expect(error.message).toBe("'vars.widnow' is not defined (did you mean 'window'?)");
    expect(error.fix).toContain('window');
  });

  it('reports unknown section names too (a typo must not silently drop SQL)', () => {
    expect(renderError('{{#vars.kafka_enabeld}}x{{/vars.kafka_enabeld}}', { vars: { kafka_enabled: true } }).message).toContain("did you mean 'kafka_enabled'");
    expect(renderError('{{^missing}}x{{/missing}}', {}).message).toBe("'missing' is not defined");
  });

  it('does not resolve names through Object.prototype on prototype-free views', () => {
    const view = Object.assign(Object.create(null) as object, { a: 1 });
    expect(renderError('{{toString}}', view).message).toBe("'toString' is not defined");
  });

  it('points into the macro file when the error is inside a macro', () => {
    const error = renderError('SELECT\n  {{> cols}}\n', {}, { cols: 'a,\n{{nope}}\n' });
    expect([error.file, error.line, error.column]).toEqual(['macros/cols.sql', 2, 1]);
  });

  it('reports a missing macro with the available ones', () => {
    const error = renderError('{{> colums}}', {}, { columns: 'x' });
    expect(error.message).toBe("unknown macro '{{> colums}}' (did you mean 'columns'?)");
    expect([error.line, error.column]).toEqual([1, 1]);
  });

  it('stops runaway macro recursion', () => {
    expect(renderError('{{> loop}}', {}, { loop: '{{> loop}}' }).message).toContain('nests more than');
  });

  it('applies the line offset of the front matter', () => {
    const text = 'SELECT {{nope}}';
    try {
      renderTemplate(source(text, 'models/m.sql', 4), {}, { partial: () => undefined, partialNames: () => [] });
      expect.unreachable();
    } catch (error) {
      expect((error as TemplateRenderError).line).toBe(5);
    }
  });
});

describe('syntax errors', () => {
  it('reports an unclosed tag at its opening', () => {
    const error = syntaxError('SELECT 1\nFROM {{ref.x\n');
    expect(error.offset).toBe(14);
    expect(error.message).toContain('unclosed tag');
  });

  it('reports an unclosed section at its opening tag', () => {
    const error = syntaxError('a\n{{#on}}\nb');
    expect(error.offset).toBe(2);
    expect(error.message).toBe("section '{{#on}}' is never closed");
  });

  it('reports mismatched and unopened closing tags', () => {
    expect(syntaxError('{{#a}}{{/b}}').message).toBe("'{{/b}}' closes 'a', which is still open");
    expect(syntaxError('x{{/a}}').message).toBe("'{{/a}}' closes a section that was never opened");
  });

  it('lints SQL that contains {{ and says how to escape it', () => {
    const error = syntaxError("SELECT '{{1,2},{3,4}}'::int[][]");
    expect(error.message).toBe("'{{1,2},{3,4}}' is not a template tag");
    expect(error.fix).toContain('{{=<% %>=}}');
  });

  it('rejects malformed delimiter changes', () => {
    expect(syntaxError('{{=<%=}}').message).toContain('invalid delimiters');
  });
});
