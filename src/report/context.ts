import { createHash } from 'node:crypto';

/** buildkite-agent rejects an annotation context longer than this. */
export const MAX_CONTEXT_LENGTH = 100;

/**
 * The annotation context of a suite: `context` alone for one suite, `context-suite` for several. A derived
 * context over the agent's limit is cut and given a hash of the whole, so two long ones stay distinct.
 */
export function annotationContext(base: string, suite: string, severalSuites: boolean): string {
  const full = severalSuites ? `${base}-${suite}` : base;
  if (full.length <= MAX_CONTEXT_LENGTH) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_CONTEXT_LENGTH - hash.length - 1)}-${hash}`;
}
