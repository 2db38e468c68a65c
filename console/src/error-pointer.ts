/** Where an error's position points in the statement the shell ran. */

/** 1-based character position → line, column and the line's text. */
export function pointAt(query: string, position: number): { line: number; column: number; text: string } {
  const before = query.slice(0, Math.max(0, position - 1));
  const line = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const lineEnd = query.indexOf('\n', lineStart);
  return { line, column: position - lineStart, text: query.slice(lineStart, lineEnd < 0 ? undefined : lineEnd) };
}
