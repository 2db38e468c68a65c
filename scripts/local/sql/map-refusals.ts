/**
 * Map and custom-type statements Materialize refuses and the local server's hstore would take
 * (map.slt): a map type whose key is not text (hstore keys are text whatever the SQL said), and
 * `CREATE TYPE … AS MAP|LIST` options Materialize rejects — a value or element type with a type
 * modifier (`numeric(38,0)`) or an unnamed list or map type (`int4 list`), which it asks to be
 * created as a named type first, and a missing option ("value_type parameter required"). The words
 * are those of map.slt at ba3630ef (Materialize's current file; it says "AS LIST" for a map's
 * unnamed value type too).
 */
import type { Token } from './tokens.ts';
import type { Refusal } from './refusal.ts';
import { isPunct, isWord } from './token-walk.ts';

/** Materialize's names of the key types a map might be given (its error names the key's type). */
const TYPE_NAMES: Record<string, string> = {
  int: 'integer', int4: 'integer', integer: 'integer', int8: 'bigint', bigint: 'bigint', int2: 'smallint', smallint: 'smallint',
  bool: 'boolean', boolean: 'boolean', float: 'double precision', float8: 'double precision', double: 'double precision',
  real: 'real', float4: 'real', numeric: 'numeric', date: 'date', timestamp: 'timestamp without time zone',
  timestamptz: 'timestamp with time zone', uuid: 'uuid', jsonb: 'jsonb', bytea: 'bytea', interval: 'interval',
};

/** `map[int => bool]`: "map key type must be text, got integer". */
export function mapKeyRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const key = tokens[index + 2];
  if (!isPunct(tokens[index + 1], '[') || !isWord(key) || isPunct(tokens[index - 1], '.')) return null;
  const arrow = tokens[index + 3];
  if (arrow?.type !== 'operator' || arrow.value !== '=>' || key!.value === 'text' || key!.value === 'string') return null;
  return { message: `map key type must be text, got ${TYPE_NAMES[key!.value] ?? key!.value}`, code: '42846' };
}

/** `CREATE TYPE t AS MAP (…, VALUE TYPE = numeric(38,0))` or `= int4 list`: refused as Materialize does. */
export function createTypeRefusal(tokens: readonly Token[]): Refusal | null {
  if (!isWord(tokens[0], 'create') || !isWord(tokens[1], 'type')) return null;
  const as = tokens.findIndex((token, at) => at > 1 && isWord(token, 'as'));
  const kind = tokens[as + 1];
  if (as < 0 || !(isWord(kind, 'list') || isWord(kind, 'map')) || !isPunct(tokens[as + 2], '(')) return null;
  const what = kind!.value.toUpperCase();
  const given = new Set<string>();
  for (let at = as + 3; at < tokens.length; at++) {
    const token = tokens[at]!;
    if (token.type !== 'operator' || token.value !== '=') continue;
    const option = optionName(tokens, at);
    if (!option) continue;
    given.add(option);
    const type = tokens.slice(at + 1, optionTypeEnd(tokens, at));
    const name = type[0];
    if (!isWord(name)) continue;
    if (isPunct(type[1], '(')) {
      return {
        message: `CREATE TYPE ... AS ${what} option "${option}" cannot accept type modifier on ${name!.value}, you must use the default type`,
        code: '42601',
      };
    }
    const last = type[type.length - 1];
    if (type.length > 1 && (isWord(last, 'list') || isPunct(last, ']'))) {
      const base = TYPE_NAMES[name!.value] === 'integer' ? 'int4' : name!.value;
      const shown = isWord(last, 'list') ? `${base}${' list'.repeat(type.filter((t) => isWord(t, 'list')).length)}` : base;
      return {
        message: `CREATE TYPE ... AS LIST option "${option}" can only use named data types, but found unnamed data type ${shown}. Use CREATE TYPE to create a named type first`,
        code: '42601',
      };
    }
  }
  const required = what === 'MAP' ? ['key_type', 'value_type'] : ['element_type'];
  const missing = required.find((option) => !given.has(option));
  return missing ? { message: `${missing} parameter required`, code: '42601' } : null;
}

/** Where the type of the option whose `=` is at `eq` ends: the next `,` or closing `)` at depth 0. */
function optionTypeEnd(tokens: readonly Token[], eq: number): number {
  let end = eq + 1;
  let depth = 0;
  while (end < tokens.length && !(depth === 0 && (isPunct(tokens[end], ',') || isPunct(tokens[end], ')')))) {
    if (isPunct(tokens[end], '(')) depth++;
    if (isPunct(tokens[end], ')')) depth--;
    end++;
  }
  return end;
}

/** `value_type =` (or `VALUE TYPE =`, and the key and element options) before the `=` at `eq`, as `value_type`. */
function optionName(tokens: readonly Token[], eq: number): string | null {
  const before = tokens[eq - 1];
  if (isWord(before, 'type') && isWord(tokens[eq - 2])) return `${tokens[eq - 2]!.value}_type`;
  return before && isWord(before) && /^[a-z]+_type$/.test(before.value) ? before.value : null;
}

/**
 * `m1 @> m2` / `m1 <@ m2` of two maps whose types differ, both written as casts
 * (`'{a=>1}'::map[text=>int] @> '{a=>t}'::map[text=>bool]`): Materialize has no such operator
 * (map.slt); the local server's maps are all hstore and would compare them. Maps read from columns
 * are not seen (their types are not in the text).
 */
export function mapContainmentRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const left = mapTypeEndingAt(tokens, index - 1);
  if (!left) return null;
  const right = tokens[index + 1]?.type === 'string' && tokens[index + 2]?.type === 'operator' && tokens[index + 2]!.value === '::' ? mapTypeAt(tokens, index + 3) : null;
  if (!right || left === right) return null;
  return {
    message: `no overload for ${left} ${tokens[index]!.value} ${right}: arguments cannot be implicitly cast to any implementation's parameters; try providing explicit casts`,
    code: '42883',
  };
}

/** The map type written from `map` at `at` to its closing `]`, as Materialize names it, or null. */
function mapTypeAt(tokens: readonly Token[], at: number): string | null {
  if (!isWord(tokens[at], 'map') || !isPunct(tokens[at + 1], '[')) return null;
  let depth = 0;
  const parts: string[] = [];
  for (let index = at; index < tokens.length; index++) {
    const token = tokens[index]!;
    if (isPunct(token, '[')) depth++;
    if (isPunct(token, ']') && --depth === 0) return `${parts.join('')}]`;
    parts.push(isWord(token) ? (TYPE_NAMES[token.value] ?? token.value) : token.value);
  }
  return null;
}

/** The map type of a cast ending at `end` (its `]`): `…::map[text=>int]`. */
function mapTypeEndingAt(tokens: readonly Token[], end: number): string | null {
  if (!isPunct(tokens[end], ']')) return null;
  let depth = 0;
  for (let index = end; index >= 0; index--) {
    if (isPunct(tokens[index], ']')) depth++;
    if (isPunct(tokens[index], '[') && --depth === 0) {
      const operator = tokens[index - 2];
      return operator?.type === 'operator' && operator.value === '::' ? mapTypeAt(tokens, index - 1) : null;
    }
  }
  return null;
}

/**
 * The type options of `CREATE TYPE … AS MAP|LIST (…)` as written (`value_type`, `pg_enum`), for the
 * check that each names a type and not a relation (mz_local.check_type_option: Materialize refuses
 * `value_type=pg_enum`, "must be of class type", where PostgreSQL finds the relation's row type).
 */
export function createTypeOptions(tokens: readonly Token[], sql: string): Array<{ option: string; type: string }> {
  const options: Array<{ option: string; type: string }> = [];
  for (let at = 0; at < tokens.length; at++) {
    const token = tokens[at]!;
    if (token.type !== 'operator' || token.value !== '=') continue;
    const option = optionName(tokens, at);
    const first = tokens[at + 1];
    if (!option || !first) continue;
    const end = optionTypeEnd(tokens, at);
    if (end > at + 1) options.push({ option, type: sql.slice(first.start, tokens[end - 1]!.end) });
  }
  return options;
}
