/**
 * Materialize's time in SQL (issue 32, item 6). Own cases and data; each expectation was checked
 * against Materialize's documentation or MaterializeInc/materialize's sqllogictest files:
 *
 * - mz_now() compares with numbers taken as milliseconds since the Unix epoch (doc/user/content/
 *   sql/types/mz_timestamp.md: integers and numerics cast implicitly to mz_timestamp), so the
 *   documented temporal filter `mz_now() >= insert_ms AND mz_now() < delete_ms` runs;
 * - `SELECT … AS OF [AT LEAST] t` (test/sqllogictest/as_of.slt): a constant timestamp is accepted
 *   (`AS OF AT LEAST 1`, `AS OF 192741824E4::numeric`); nothing after it, a time-dependent function,
 *   a literal that is no mz_timestamp (negative, fractional, 1E38, NULL, 'xxx') or a name are refused
 *   with Materialize's words; `AS OF` is never read as an alias.
 */
import { describe, expect, it } from 'vitest';
import { errorMessageOf, firstRowValues, serverForTests } from '../helpers/local-server.ts';

const t = serverForTests();

describe('mz_now() and numbers', () => {
  it('compares with integers, bigints and numerics as milliseconds since the epoch, either way round', async () => {
    // 1,000 ms after the epoch is long past; 10^14 ms is in the year 5138.
    expect(
      await firstRowValues(
        t,
        `SELECT mz_now() > 1000, mz_now() < 1000::bigint, 1000.5 < mz_now(), mz_now() <= 100000000000000, 100000000000000::numeric > mz_now(), mz_now() = 0`,
      ),
    ).toEqual([true, false, true, true, true, false]);
  });

  it('runs the temporal filter over millisecond columns that Materialize documents', async () => {
    const now = Date.now();
    await t.query(`CREATE TABLE timed_rows (content text, insert_ms numeric, delete_ms bigint)`);
    await t.query(`INSERT INTO timed_rows VALUES ('current', ${now - 60_000}, ${now + 3_600_000}), ('expired', ${now - 7_200_000}, ${now - 3_600_000}), ('future', ${now + 3_600_000}, ${now + 7_200_000})`);
    await t.query(`CREATE MATERIALIZED VIEW visible_rows AS SELECT content FROM timed_rows WHERE mz_now() >= insert_ms AND mz_now() < delete_ms`);
    expect(await t.query(`SELECT content FROM visible_rows`)).toEqual([{ content: 'current' }]);
  });
});

describe('SELECT … AS OF', () => {
  it('accepts a constant timestamp and reads the current data', async () => {
    await t.query(`CREATE VIEW pairs (a, b) AS VALUES (1, 10), (2, 20)`);
    expect(await t.query(`SELECT a, b FROM pairs ORDER BY a AS OF AT LEAST 1`)).toEqual([
      { a: 1, b: 10 },
      { a: 2, b: 20 },
    ]);
    expect(await t.query(`SELECT count(*)::int AS n FROM pairs AS OF 192741824E4::numeric`)).toEqual([{ n: 2 }]);
    expect(await t.query(`SELECT count(*)::int AS n FROM pairs AS OF '${Date.now() + 60_000}'`)).toEqual([{ n: 2 }]);
  });

  it('refuses what Materialize refuses, in its words', async () => {
    expect(await errorMessageOf(t, `SELECT * FROM pairs AS OF`)).toBe("Expected a timestamp value after 'AS OF', found EOF");
    for (const when of ['now()', 'mz_now()', 'current_database()']) {
      expect(await errorMessageOf(t, `SELECT * FROM pairs AS OF ${when}`)).toBe('calling an unmaterializable function in AS OF or UP TO not yet supported');
    }
    for (const when of ['-5', '-5::numeric', '2.5', '1E38', `'soon'`, 'NULL::timestamp']) {
      expect(await errorMessageOf(t, `SELECT * FROM pairs AS OF ${when}`)).toBe('AS OF or UP TO should be castable to a (non-null) mz_timestamp value');
    }
    expect(await errorMessageOf(t, `SELECT * FROM pairs AS OF b`)).toBe('column "b" does not exist');
  });

});

describe('mz_now() against numbers as mz_timestamp bounds (temporal.slt)', () => {
  it('compares as milliseconds without overflowing; u64::MAX cannot be stepped past; a negative bound is out of range', async () => {
    expect(await t.query(`SELECT (mz_now() BETWEEN 0 AND 18446744073709551614) AS within, (mz_now() < 1000) AS early`)).toEqual([{ within: true, early: false }]);
    expect(await errorMessageOf(t, `SELECT mz_now() <= 18446744073709551615`)).toBe('step mz_timestamp overflow');
    expect(await errorMessageOf(t, `SELECT mz_now() > -5`)).toBe('mz_timestamp out of range');
  });
});

describe('mz_logical_timestamp (temporal.slt)', () => {
  it('is refused with the name to use', async () => {
    expect(await errorMessageOf(t, `CREATE VIEW old_clock AS SELECT 1 WHERE mz_logical_timestamp() > 0`)).toBe('mz_logical_timestamp() has been renamed to mz_now()');
  });
});

// interval.slt at 14a58509 (MaterializeInc/materialize), "Largest values": an interval's time part
// runs to 2^63 microseconds either way, as PostgreSQL's does (an earlier Materialize stopped at
// 2147483647 hours 59:59.999999).
describe('interval literals at the ends of the range', () => {
  it('are taken as Materialize takes them', async () => {
    expect(await firstRowValues(t, `SELECT (INTERVAL '3 days 2562047788 hours 54.775807 seconds')::text, ('-9223372036854775808 microseconds'::interval)::text, (INTERVAL '10 days 2147483648 hours')::text`)).toEqual([
      '3 days 2562047788:00:54.775807',
      '-2562047788:00:54.775808',
      '10 days 2147483648:00:00',
    ]);
  });
});

// interval.slt at 07e15494: `<leading> TO <trailing>` drops the fields above the leading one, for any
// pair (PostgreSQL keeps them, and has only some pairs).
describe('interval literals with a range of fields', () => {
  it('refuse text that sets the years or months twice, or has + after a digit; the mixed styles Materialize takes still run', async () => {
    expect(await errorMessageOf(t, `SELECT INTERVAL '3-4 5 years'`)).toBe('invalid input syntax for type interval: YEAR field set twice: "3-4 5 years"');
    expect(await errorMessageOf(t, `SELECT '3-4 2 mon'::interval`)).toBe('invalid input syntax for type interval: MONTH field set twice: "3-4 2 mon"');
    expect(await errorMessageOf(t, `SELECT INTERVAL '4+1:00'`)).toBe('invalid input syntax for type interval: "4+1:00"');
    expect(await firstRowValues(t, `SELECT (INTERVAL '3-4 1:2 6 day')::text, (INTERVAL '+3 years +1 day')::text`)).toEqual(['3 years 4 months 6 days 01:02:00', '3 years 1 day']);
  });

  it('refuse a second precision past microseconds', async () => {
    expect(await errorMessageOf(t, `SELECT INTERVAL '4.1234567' SECOND(8)`)).toBe('SECOND precision must be (0, 6), have SECOND(8)');
    expect(await errorMessageOf(t, `SELECT INTERVAL '1:4.1234567' MINUTE TO SECOND(7)`)).toBe('SECOND precision must be (0, 6), have SECOND(7)');
    expect(await firstRowValues(t, `SELECT (INTERVAL '4.1234567' SECOND(3))::text`)).toEqual(['00:00:04.123']);
  });

  it('keep only the fields from the leading one to the trailing one', async () => {
    expect(
      await firstRowValues(
        t,
        `SELECT (INTERVAL '2-5 6 7:8:9.5' DAY TO MINUTE)::text, (INTERVAL '2-5 6 7:8:9.5' MONTH TO HOUR)::text, (INTERVAL '7:8:9' MINUTE TO SECOND)::text, (INTERVAL '2-5 6 7:8:9.5' YEAR TO MONTH)::text`,
      ),
    ).toEqual(['6 days 07:08:00', '5 months 6 days 07:00:00', '00:08:09', '2 years 5 months']);
  });

  // interval.rs (truncate_high_fields): below DAY the time part is kept modulo the leading field's
  // next unit, with the remainder's sign.
  it('keep an HOUR, MINUTE or SECOND leading field under a day, an hour or a minute', async () => {
    expect(
      await firstRowValues(t, `SELECT (INTERVAL '2 days 50:10' HOUR TO MINUTE)::text, (INTERVAL '-75:20:05' MINUTE TO SECOND)::text, (INTERVAL '3:7:45.5' SECOND)::text`),
    ).toEqual(['02:10:00', '-00:20:05', '03:07:45.5']);
  });

  it('keep the column name a literal has', async () => {
    const result = await t.sql.query(`SELECT INTERVAL '4:30' HOUR TO MINUTE, INTERVAL '1-2 3' DAY TO HOUR AS named`);
    expect(result.fields.map((field) => field.name)).toEqual(['interval', 'named']);
  });
});

// timezone.slt at 0243c056 (MaterializeInc/materialize) and doc/user/content/sql/functions/
// timezone-and-at-time-zone.md: timezone_offset(zone, moment) → (abbrev, base_utc_offset, dst_offset).
describe('timezone_offset', () => {
  it("gives a zone's abbreviation, standard offset and daylight-saving offset at a moment, whatever the session's zone", async () => {
    expect(
      await firstRowValues(
        t,
        `SELECT timezone_offset('Europe/Berlin', '2024-07-01T12:00:00+00')::text, timezone_offset('europe/berlin', '2024-01-15T12:00:00+00')::text, (timezone_offset('Australia/Sydney', '2024-01-15T00:00:00+00')).dst_offset::text`,
      ),
    ).toEqual(['(CEST,01:00:00,01:00:00)', '(CET,01:00:00,00:00:00)', '01:00:00']);
    expect(await firstRowValues(t, `SELECT current_setting('timezone')`)).toEqual(['UTC']);
  });

  it('refuses what is no IANA zone name, in Materialize words', async () => {
    expect(await errorMessageOf(t, `SELECT timezone_offset('CEST', now())`)).toBe("invalid IANA Time Zone Database identifier: 'CEST'");
    expect(await errorMessageOf(t, `SELECT timezone_offset('+02', now())`)).toBe("invalid IANA Time Zone Database identifier: '+02'");
  });

  it('a time zone interval with months is refused in Materialize words', async () => {
    expect(await errorMessageOf(t, `SELECT timezone(INTERVAL '2 months', TIME '10:00')`)).toBe('timezone interval must not contain months or years');
  });
});
