/**
 * Cuts and rewrites PostgreSQL's deparsed view definitions (pg_get_viewdef) around their `NOT
 * EXISTS` terms and `HAVING` clause, for the keyed refresh of views whose NOT EXISTS relations
 * changed (anti-join-plan.ts). The deparse is canonical: a NOT EXISTS term reads
 * `NOT (EXISTS ( SELECT … FROM <relation> <alias> WHERE … ))`, keywords are upper case outside
 * quotes, and the query tree (keyed-refresh-plan.ts) has already proved which terms exist; these
 * functions throw when the text is not what the tree said, and the view is then refreshed whole.
 */
import { forEachOutsideQuotes, scanOutsideQuotes, topLevelClauses } from './aggregate-plan.ts';
import { splitTopLevelAnd, stripOuterParentheses } from './temporal-plan.ts';
import { escapeRegExp } from '../../shared/regexp.ts';

/** Where a NOT EXISTS term of a deparsed definition is. */
export interface NotExistsSpan {
  /** `NOT (EXISTS (…))`: from `NOT` to its closing parenthesis, inclusive. */
  readonly start: number;
  readonly end: number;
  /** The subquery with its parentheses, `( SELECT … )`. */
  readonly subqueryStart: number;
  readonly subqueryEnd: number;
  /** Where the relation's name is, inside the subquery. */
  readonly relationStart: number;
  readonly relationEnd: number;
}

/** For each parenthesis outside quotes, its partner: open → close and close → open. */
function parenthesisPairs(sql: string): Map<number, number> {
  const pairs = new Map<number, number>();
  const open: number[] = [];
  forEachOutsideQuotes(sql, (index, char) => {
    if (char === '(') {
      open.push(index);
    } else if (char === ')') {
      const start = open.pop();
      if (start === undefined) throw new Error('unbalanced parentheses in its deparsed definition');
      pairs.set(start, index);
      pairs.set(index, start);
    }
  });
  if (open.length > 0) throw new Error('unbalanced parentheses in its deparsed definition');
  return pairs;
}

/**
 * The NOT EXISTS term reading `relation` (as the deparse names it) in `sql`. Throws unless the
 * relation is named exactly once, right after a FROM, directly inside a subquery that is the
 * argument of `NOT (EXISTS …)`.
 */
export function locateNotExists(sql: string, relation: string): NotExistsSpan {
  const reference = new RegExp(`\\bFROM\\s+(${escapeRegExp(relation)})(?=[\\s)]|$)`, 'g');
  const found = [...sql.matchAll(reference)];
  if (found.length !== 1) throw new Error(`${relation} is named ${found.length} times after FROM in its deparsed definition, not once`);
  const relationStart = found[0]!.index + found[0]![0].length - relation.length;
  const pairs = parenthesisPairs(sql);
  // The innermost parenthesis enclosing the reference.
  let subqueryStart = -1;
  for (const [open, close] of pairs) if (open < relationStart && close > relationStart && open > subqueryStart && sql[open] === '(') subqueryStart = open;
  if (subqueryStart < 0 || !/^\(\s*SELECT\b/.test(sql.slice(subqueryStart))) throw new Error(`${relation} is not read by a subquery of its own in its deparsed definition`);
  const before = /NOT\s+\(\s*EXISTS\s*$/.exec(sql.slice(0, subqueryStart));
  if (!before) throw new Error(`${relation} is read by a subquery that is not a NOT EXISTS in its deparsed definition`);
  const notParenthesis = sql.indexOf('(', before.index);
  const end = pairs.get(notParenthesis);
  if (end === undefined) throw new Error('unbalanced parentheses in its deparsed definition');
  return { start: before.index, end: end + 1, subqueryStart, subqueryEnd: pairs.get(subqueryStart)! + 1, relationStart, relationEnd: relationStart + relation.length };
}

export interface AntiJoinText {
  /** The relation as the deparse names it. */
  readonly relation: string;
  /** What it reads as in the rewritten text (a table or a function call). */
  readonly readAs: string;
}

/**
 * `sql` with each NOT EXISTS term rewritten by `rewrite` (given the term's text with its relation
 * replaced, and the subquery alone likewise), terms handled from the last so that earlier spans
 * stay where they are.
 */
export function rewriteNotExists(sql: string, terms: readonly AntiJoinText[], rewrite: (term: string, subquery: string, index: number) => string): string {
  const spans = terms.map((term, index) => ({ term, index, span: locateNotExists(sql, term.relation) })).sort((a, b) => b.span.start - a.span.start);
  let result = sql;
  for (const { term, index, span } of spans) {
    const replaced = (from: number, to: number) => sql.slice(from, span.relationStart) + term.readAs + sql.slice(span.relationEnd, to);
    result = result.slice(0, span.start) + rewrite(replaced(span.start, span.end), replaced(span.subqueryStart, span.subqueryEnd), index) + result.slice(span.end);
  }
  return result;
}

/** A deparsed `SELECT … GROUP BY … HAVING …` without its HAVING clause (unchanged without one). */
export function withoutHaving(definition: string): string {
  const sql = definition.trim().replace(/;$/, '');
  const { clauses } = topLevelClauses(sql);
  const having = clauses.findIndex((clause) => clause.word === 'HAVING');
  if (having < 0) return sql;
  const next = clauses[having + 1];
  return `${sql.slice(0, clauses[having]!.index)}${next ? sql.slice(next.index) : ''}`.trim();
}

/** `fromClause` (`FROM … WHERE …`, deparsed) with `condition` added to its WHERE. */
export function andWhere(fromClause: string, condition: string): string {
  const { clauses } = topLevelClauses(fromClause);
  const where = clauses.find((clause) => clause.word === 'WHERE');
  if (!where) return `${fromClause} WHERE ${condition}`;
  return `${fromClause.slice(0, where.index)}WHERE (${fromClause.slice(where.index + 'WHERE'.length).trim()}) AND ${condition}`;
}

/** `text` split at ` = ` outside quotes and parentheses, when it has exactly one there. */
function splitEquality(text: string): [string, string] | null {
  const cuts: number[] = [];
  scanOutsideQuotes(text, (index, depth) => {
    if (depth === 0 && text.startsWith(' = ', index)) cuts.push(index);
  });
  return cuts.length === 1 ? [text.slice(0, cuts[0]).trim(), text.slice(cuts[0]! + 3).trim()] : null;
}

/**
 * A condition implied by `EXISTS <subquery>` (a deparsed `( SELECT … FROM <relation> <alias>
 * WHERE … )`) that PostgreSQL can push into what the outer query reads: for each top-level
 * `<alias>.<column> = <outer expression>` of its WHERE, `(<outer expression>) = ANY (ARRAY(SELECT
 * <alias>.<column> FROM <relation> <alias>))` — an index lookup of the few changed rows' values,
 * where the EXISTS alone made a hash join over every input row (a scan of all events to find a
 * deleted user's). Null when there is no such equality.
 */
export function matchingValues(subquery: string, relation: string): string | null {
  return matchingTerms(subquery, relation)?.condition ?? null;
}

/**
 * `EXISTS <subquery>` as a condition to AND into what the outer query reads: with matchingValues
 * beside it, or alone when those equalities are the subquery's whole WHERE — then a row matches
 * exactly when its values are among the relation's (NULL matching nothing either way), and the
 * EXISTS was only a semi join to run again over every row they found (the seed's
 * `deleted.user_id = e.user_id`: each event of a deleted user).
 */
export function existsCondition(subquery: string, relation: string): string {
  const terms = matchingTerms(subquery, relation);
  if (!terms) return `(EXISTS ${subquery})`;
  return terms.complete ? `(${terms.condition})` : `(EXISTS ${subquery} AND ${terms.condition})`;
}

function matchingTerms(subquery: string, relation: string): { condition: string; complete: boolean } | null {
  const shape = new RegExp(`^\\(\\s*SELECT\\b[\\s\\S]*?\\bFROM\\s+${escapeRegExp(relation)}(?:\\s+("(?:[^"]|"")*"|[a-z_][a-z0-9_$]*))?\\s+WHERE\\s+([\\s\\S]*)\\)$`);
  const found = shape.exec(subquery.trim());
  if (!found) return null;
  const alias = found[1] ?? relation.split('.').pop()!;
  const inner = new RegExp(`^${escapeRegExp(alias)}\\.("(?:[^"]|"")*"|[a-z_][a-z0-9_$]*)$`);
  const conditions: string[] = [];
  const terms = splitTopLevelAnd(stripOuterParentheses(found[2]!.trim()));
  for (const term of terms) {
    const sides = splitEquality(stripOuterParentheses(term));
    if (!sides) continue;
    for (const [mine, outer] of [sides, [sides[1], sides[0]] as const]) {
      if (inner.test(mine) && !outer.includes(`${alias}.`) && !/\bSELECT\b/.test(outer)) {
        conditions.push(`(${outer}) = ANY (ARRAY(SELECT ${mine} FROM ${relation} ${alias}))`);
        break;
      }
    }
  }
  // Complete for one equality alone: with two, each value may be found in another row of the
  // relation, where EXISTS wants one row holding both.
  return conditions.length > 0 ? { condition: conditions.join(' AND '), complete: terms.length === 1 && conditions.length === 1 } : null;
}
