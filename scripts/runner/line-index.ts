/**
 * Converts character offsets into 1-based line and column numbers. Template and YAML errors come
 * as offsets; users need lines. The index of line starts is built lazily, only when an error needs
 * it, so the compile hot path never pays for it.
 */
export class LineIndex {
  private lineStarts: number[] | undefined;

  constructor(
    private readonly text: string,
    /** Lines that precede `text` in its file (a front-matter block, for a model body). */
    private readonly lineOffset = 0,
  ) {}

  position(offset: number): { line: number; column: number } {
    const starts = (this.lineStarts ??= computeLineStarts(this.text));
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1 + this.lineOffset, column: offset - starts[low]! + 1 };
  }
}

function computeLineStarts(text: string): number[] {
  const starts = [0];
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) {
    starts.push(index + 1);
  }
  return starts;
}
