/**
 * The text side of temporal-plan.ts: reading a deparsed definition back into its SELECT items,
 * FROM and WHERE terms (quotes and parentheses respected), from which the boundaries view is built.
 * The query-tree side is covered through the server in kept-views-temporal.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { splitDeparsed, splitTopLevelAnd, stripOuterParentheses } from '../../scripts/local/views/temporal-plan.ts';

describe('stripOuterParentheses', () => {
  it('removes parentheses enclosing the whole text, however many', () => {
    expect(stripOuterParentheses('((mz_now() <= (e.ts + \'01:00:00\'::interval)))')).toBe("mz_now() <= (e.ts + '01:00:00'::interval)");
  });
  it('keeps parentheses that close before the end', () => {
    expect(stripOuterParentheses('(a = 1) AND (b = 2)')).toBe('(a = 1) AND (b = 2)');
    expect(stripOuterParentheses('(a)::text')).toBe('(a)::text');
  });
  it('ignores parentheses inside quotes', () => {
    expect(stripOuterParentheses("(x = ')(')")).toBe("x = ')('");
  });
});

describe('splitTopLevelAnd', () => {
  it('splits on AND outside parentheses and quotes only', () => {
    expect(splitTopLevelAnd("(a = 1) AND (b = ' AND ') AND (NOT (EXISTS ( SELECT 1 WHERE (x AND y))))")).toEqual([
      '(a = 1)',
      "(b = ' AND ')",
      '(NOT (EXISTS ( SELECT 1 WHERE (x AND y))))',
    ]);
  });
});

describe('splitDeparsed', () => {
  it('reads a GROUP BY definition as PostgreSQL deparses it', () => {
    const parts = splitDeparsed(` SELECT date_trunc('minute'::text, e.received_at) AS minute,
    e.event_type,
    count(*) AS events
   FROM analytics.stg_segment_events e
  WHERE ((mz_now() <= (e.received_at + '01:00:00'::interval)) AND (e.event_type <> 'delete'::text))
  GROUP BY (date_trunc('minute'::text, e.received_at)), e.event_type;`);
    expect(parts).toEqual({
      items: ["date_trunc('minute'::text, e.received_at) AS minute", 'e.event_type', 'count(*) AS events'],
      from: 'FROM analytics.stg_segment_events e',
      where: "((mz_now() <= (e.received_at + '01:00:00'::interval)) AND (e.event_type <> 'delete'::text))",
    });
  });
  it('reads past DISTINCT ON (…) to the SELECT list, and stops the WHERE at ORDER BY', () => {
    const parts = splitDeparsed(` SELECT DISTINCT ON (x.u, (x.body ->> 'a,b')) x.u,
    x.id
   FROM s.x
  WHERE (x.ts >= mz_now())
  ORDER BY x.u, (x.body ->> 'a,b'), x.id DESC;`);
    expect(parts).toEqual({ items: ['x.u', 'x.id'], from: 'FROM s.x', where: '(x.ts >= mz_now())' });
  });
  it('refuses clauses the boundaries view cannot be built from', () => {
    expect(() => splitDeparsed(' SELECT a FROM t GROUP BY a HAVING (count(*) > 1)')).toThrow(/found SELECT FROM GROUP BY HAVING/);
    expect(() => splitDeparsed(' SELECT DISTINCT a FROM t')).toThrow(/DISTINCT/);
    expect(() => splitDeparsed(' SELECT a FROM t ORDER BY a LIMIT 3')).toThrow(/LIMIT/);
  });
});
