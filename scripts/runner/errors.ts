/**
 * Errors the runner reports to users. Every error says what is wrong, where (file:line:col when
 * there is a place to point at) and, when we know it, how to fix it.
 */

export interface SourceLocation {
  /** Path relative to the project root, as users see it in their editor. */
  readonly file: string;
  /** 1-based line. */
  readonly line?: number;
  /** 1-based column. */
  readonly column?: number;
}

export class ProjectError extends Error {
  constructor(
    message: string,
    readonly location?: SourceLocation,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'ProjectError';
  }

  /** `file:line:col: message` followed by the fix on its own line. */
  format(): string {
    const where = this.location ? `${formatLocation(this.location)}: ` : '';
    const fix = this.fix ? `\n  fix: ${this.fix}` : '';
    return `${where}${this.message}${fix}`;
  }
}

/** Several independent errors found in one pass, so users can fix them all at once. */
export class ProjectErrors extends Error {
  constructor(readonly errors: readonly ProjectError[]) {
    super(errors.map((error) => error.format()).join('\n'));
    this.name = 'ProjectErrors';
  }

  format(): string {
    const count = this.errors.length;
    const header = `${count} error${count === 1 ? '' : 's'}:`;
    return [header, ...this.errors.map((error) => error.format())].join('\n');
  }
}

export function formatLocation(location: SourceLocation): string {
  if (location.line === undefined) return location.file;
  if (location.column === undefined) return `${location.file}:${location.line}`;
  return `${location.file}:${location.line}:${location.column}`;
}

/** Throws the collected errors, if any: one alone keeps its own type. */
export function throwIfAny(errors: readonly ProjectError[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new ProjectErrors(errors);
}

/** Flattens whatever was thrown into a list of ProjectErrors (unknown errors are re-thrown). */
export function asProjectErrors(error: unknown): ProjectError[] {
  if (error instanceof ProjectErrors) return [...error.errors];
  if (error instanceof ProjectError) return [error];
  throw error;
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

/** The closest candidate to `name`, if any is close enough to be a plausible typo. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    // Cheap length filter first: the distance is at least the length difference.
    if (Math.abs(candidate.length - name.length) >= bestDistance) continue;
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  const suggestion = closestName(name, candidates);
  return suggestion ? ` (did you mean '${suggestion}'?)` : '';
}
