/** Text to match literally inside a regular expression built from parts (names, quoted identifiers). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
