/**
 * Materialize's numeric holds 39 significant digits, from 10^38 down to 10^-39 (numeric.slt;
 * doc/user/content/sql/types/numeric.md); PostgreSQL's holds 131072 digits before the point and
 * 16383 after. Literals with more than 39 significant digits are rounded to 39 (numericPrecisionEdit,
 * used by dialect.ts). Refused (used by refusals.ts) as Materialize refuses them, where the SQL text
 * shows them:
 *
 * - a number literal whose leading digit is past that range (`1e39`, a 40-digit integer, `1e-40`):
 *   `"1E39" is out of range for type numeric: exceeds maximum precision 39`;
 * - a string literal cast to numeric likewise, or spelling an infinity (PostgreSQL's numeric has
 *   `Infinity`, Materialize's does not): `invalid input syntax for type numeric: "Infinity"`;
 * - a type modifier past it: `numeric(40, 1)` ("precision for type numeric must be between 1 and
 *   39"), `numeric(39, 40)` ("scale for type numeric must be between 0 and precision 39").
 *
 * Values computed at run time (`999…9 + 1`, a cast from a double past 10^39) are not seen. Digits
 * after the point past the 39th are rounded by Materialize and kept by PostgreSQL: not refused.
 */
import type { Refusal } from './refusal.ts';
import type { Token } from './tokens.ts';
import { castTypeOf, isPunct, isWord } from './token-walk.ts';

const MAX_PRECISION = 39;
/** The exponent of the most significant digit Materialize's numeric can hold: 10^38 … 10^-39. */
const HIGHEST_DIGIT = MAX_PRECISION - 1;
const LOWEST_DIGIT = -MAX_PRECISION;
const NUMERIC_TYPES = new Set(['numeric', 'decimal', 'dec']);
const NUMBER_TEXT = /^\s*[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;
const INFINITY_TEXT = /^\s*[+-]?inf(inity)?\s*$/i;

/** The power of ten of a number's most significant digit, or null for zero or text that is no number. */
export function leadingDigitExponent(text: string): number | null {
  const parts = NUMBER_TEXT.exec(text);
  if (!parts || (parts[1] === '' && (parts[2] ?? '') === '')) return null;
  const whole = parts[1]!.replace(/^0+/, '');
  const fraction = parts[2] ?? '';
  const exponent = Number(parts[3] ?? '0');
  if (whole !== '') return whole.length - 1 + exponent;
  const firstDigit = fraction.search(/[1-9]/);
  return firstDigit < 0 ? null : -(firstDigit + 1) + exponent;
}

function outOfRange(shown: string): Refusal {
  return { message: `"${shown}" is out of range for type numeric: exceeds maximum precision ${MAX_PRECISION}`, code: '22003' };
}

function pastRange(text: string): boolean {
  // Rounded to 39 digits first: 39 nines and a fraction of .9 round past 10^38.
  const exponent = leadingDigitExponent(roundedToPrecision(text) ?? text);
  return exponent !== null && (exponent > HIGHEST_DIGIT || exponent < LOWEST_DIGIT);
}

/** Words after which a `-` negates what follows rather than subtracting it. */
const BEFORE_OPERAND = new Set(['select', 'where', 'and', 'or', 'not', 'then', 'else', 'when', 'by', 'having', 'on', 'in', 'values', 'return', 'case', 'between']);

/** True when the operator at `index` is a `-` that negates what follows. */
function isUnaryMinus(tokens: readonly Token[], index: number): boolean {
  const sign = tokens[index];
  if (sign?.type !== 'operator' || sign.value !== '-') return false;
  const before = tokens[index - 1];
  return before === undefined || before.type === 'operator' || isPunct(before, '(') || isPunct(before, ',') || (before.type === 'word' && BEFORE_OPERAND.has(before.value));
}

/** A number literal past numeric's range (`SELECT 1e39`), named as Materialize names it (`"-1E39"`). */
export function numberLiteralRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const text = tokens[index]!.value;
  // Only long numbers and exponents can pass the range (39 characters hold at most 37 decimals):
  // nearly every literal stops here.
  if (text.length <= MAX_PRECISION && !/[eE]/.test(text)) return null;
  if (!pastRange(text)) return null;
  const shown = text.replace('e', 'E');
  return outOfRange(isUnaryMinus(tokens, index - 1) ? `-${shown}` : shown);
}

/** The type a string literal at `index` is cast to (`'x'::numeric`, `CAST('x' AS numeric)`, `numeric 'x'`), lower-cased. */
function castType(tokens: readonly Token[], index: number): string | null {
  const cast = castTypeOf(tokens, index);
  if (isWord(cast)) return cast!.value;
  const before = tokens[index - 1];
  if (before?.type === 'word' && NUMERIC_TYPES.has(before.value) && !isPunct(tokens[index - 2], '.')) return before.value;
  return null;
}

/** A string literal cast to numeric whose number is past the range or is an infinity. */
export function numericTextRefusal(tokens: readonly Token[], index: number): Refusal | null {
  const type = castType(tokens, index);
  if (type === null || !NUMERIC_TYPES.has(type)) return null;
  const text = tokens[index]!.value;
  if (INFINITY_TEXT.test(text)) return { message: `invalid input syntax for type numeric: ${JSON.stringify(text)}`, code: '22P02' };
  return pastRange(text) ? outOfRange(text) : null;
}

/** `numeric(p[, s])` with p or s past Materialize's bounds. */
export function numericModifierRefusal(tokens: readonly Token[], index: number): Refusal | null {
  if (!isPunct(tokens[index + 1], '(') || tokens[index + 2]?.type !== 'number' || isPunct(tokens[index - 1], '.')) return null;
  // A type position: after `::`, `AS` in CAST, or a column's name in a definition — never a call
  // (PostgreSQL has no function named numeric taking these arguments either way).
  const precision = Number(tokens[index + 2]!.value);
  let scale = 0;
  if (isPunct(tokens[index + 3], ',')) {
    if (tokens[index + 4]?.type !== 'number' || !isPunct(tokens[index + 5], ')')) return null;
    scale = Number(tokens[index + 4]!.value);
  } else if (!isPunct(tokens[index + 3], ')')) {
    return null;
  }
  if (!Number.isInteger(precision) || !Number.isInteger(scale)) return null;
  if (precision < 1 || precision > MAX_PRECISION) return { message: `precision for type numeric must be between 1 and ${MAX_PRECISION}`, code: '22023' };
  if (scale > precision) return { message: `scale for type numeric must be between 0 and precision ${precision}`, code: '22023' };
  return null;
}

export function isNumericTypeName(word: string): boolean {
  return NUMERIC_TYPES.has(word);
}

/**
 * A number's text rounded to Materialize's 39 significant digits (half away from zero), written
 * without an exponent; null when it has 39 or fewer (nearly always) or is no plain number. Materialize
 * rounds a literal's digits past the 39th (numeric.slt: `98765432109876543210987654321098765432.109`
 * is `…432.1`); PostgreSQL keeps them all.
 */
export function roundedToPrecision(text: string): string | null {
  const parts = NUMBER_TEXT.exec(text);
  if (!parts) return null;
  const negative = /^\s*-/.test(text);
  const digits = `${parts[1]!}${parts[2] ?? ''}`;
  const firstSignificant = digits.search(/[1-9]/);
  if (firstSignificant < 0) return null;
  const significant = digits.slice(firstSignificant).replace(/0+$/, '');
  if (significant.length <= MAX_PRECISION) return null;
  // The position of the decimal point, counted from the first significant digit.
  let point = parts[1]!.length - firstSignificant + Number(parts[3] ?? '0');
  let kept = [...significant.slice(0, MAX_PRECISION)].map(Number);
  if (Number(significant[MAX_PRECISION]) >= 5) {
    let at = kept.length - 1;
    while (at >= 0 && kept[at] === 9) kept[at--] = 0;
    if (at < 0) {
      kept = [1, ...kept.slice(0, -1)];
      point++;
    } else {
      kept[at]!++;
    }
  }
  const body = kept.join('');
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${body}`;
  else if (point >= body.length) plain = `${body}${'0'.repeat(point - body.length)}`;
  else plain = `${body.slice(0, point)}.${body.slice(point)}`;
  if (plain.includes('.')) plain = plain.replace(/0+$/, '').replace(/\.$/, '');
  return `${negative ? '-' : ''}${plain}`;
}

/** A number literal, or a string cast to numeric, with more than 39 significant digits: rounded to 39 as Materialize reads it. */
export function numericPrecisionEdit(tokens: readonly Token[], index: number, sql: string): { start: number; end: number; text: string } | null {
  const token = tokens[index]!;
  if (token.value.length <= MAX_PRECISION) return null;
  if (token.type === 'number') {
    const rounded = roundedToPrecision(token.value);
    return rounded === null ? null : { start: token.start, end: token.end, text: rounded };
  }
  if (token.type !== 'string') return null;
  const type = castType(tokens, index);
  if (type === null || !NUMERIC_TYPES.has(type) || !/^'/.test(sql.slice(token.start, token.end))) return null;
  const rounded = roundedToPrecision(token.value);
  return rounded === null ? null : { start: token.start, end: token.end, text: `'${rounded}'` };
}
