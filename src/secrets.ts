/**
 * The secrets of one gate run: the API token and any OIDC token minted for a suite. Everything the gate
 * prints — log lines, annotations, error messages — passes through `redact` first, so a secret that a test
 * printed, or an API body echoed, never reaches a reader. Added to before anything is printed.
 */

/** Shorter values would redact ordinary words; real tokens are long. */
const MIN_SECRET_LENGTH = 8;

export class Secrets {
  readonly #values = new Set<string>();

  add(value: string | undefined): this {
    if (value && value.length >= MIN_SECRET_LENGTH) this.#values.add(value);
    return this;
  }

  /** The longest secret's length: text is cut with this much to spare, so a secret at a cut is still whole. */
  get longest(): number {
    let n = 0;
    for (const value of this.#values) n = Math.max(n, value.length);
    return n;
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.#values) out = out.split(value).join('[REDACTED]');
    return out;
  }
}
