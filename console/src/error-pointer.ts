/**
 * Where an error points in the statement the shell ran. Materialize's SQL APIs give no position
 * (their error object is message, code, detail, hint), so the shell finds what the message quotes:
 * the token of `at or near "X"`, else the first name in quotes ('x' or "x") found in the
 * statement as a whole word. Null when the message names nothing found there.
 */
export function errorPosition(query: string, message: string): number | null {
  const near = /at or near "((?:[^"]|"")*)"/.exec(message)?.[1];
  const quoted = [...message.matchAll(/'((?:[^']|'')+)'|"((?:[^"]|"")+)"/g)].map((match) => (match[1] ?? match[2])!);
  for (const candidate of near !== undefined ? [near, ...quoted] : quoted) {
    const index = findWord(query, candidate.replaceAll("''", "'").replaceAll('""', '"'));
    if (index >= 0) return index + 1;
  }
  return null;
}

/** First occurrence of `word` not inside a longer identifier, case-insensitively; -1 if none. */
function findWord(query: string, word: string): number {
  if (!word) return -1;
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const found = new RegExp(`(?<![A-Za-z0-9_$])${escaped}(?![A-Za-z0-9_$])`, 'i').exec(query);
  return found ? found.index : -1;
}

/** 1-based character position → line, column and the line's text. */
export function pointAt(query: string, position: number): { line: number; column: number; text: string } {
  const before = query.slice(0, Math.max(0, position - 1));
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = query.indexOf('\n', lineStart);
  return { line, column: position - lineStart, text: query.slice(lineStart, lineEnd < 0 ? undefined : lineEnd) };
}
