/** "1 failed test", "1,234 failed tests": a count and its noun, for every message that counts something. */
export function plural(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}
