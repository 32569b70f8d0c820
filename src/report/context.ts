/** buildkite-agent rejects an annotation context longer than this. */
export const MAX_CONTEXT_LENGTH = 100;

/**
 * The annotation context of a suite: `context` alone for one suite, `context-suite` for several. A derived
 * context over the agent's limit is cut and given a hash of the whole, so two long ones stay distinct.
 */
export function annotationContext(base: string, suite: string, severalSuites: boolean): string {
  const full = severalSuites ? `${base}-${suite}` : base;
  if (full.length <= MAX_CONTEXT_LENGTH) return full;
  const hash = fnv1a(full).toString(16).padStart(8, '0');
  return `${full.slice(0, MAX_CONTEXT_LENGTH - hash.length - 1)}-${hash}`;
}

/** 32-bit FNV-1a: enough to tell contexts apart, and no need to load node:crypto for it. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
