/**
 * Escaping for the annotation. Buildkite renders CommonMark + GFM with a sanitised HTML subset; all text from
 * the API sits inside HTML blocks, where Markdown is not parsed, and is escaped twice over: HTML-significant
 * characters always, and Markdown-significant ones too, so that no renderer can build a link, an image, a
 * fence or an emphasis from test output.
 */

const ENTITY: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '[': '&#91;',
  ']': '&#93;',
  '`': '&#96;',
  '(': '&#40;',
  ')': '&#41;',
  '!': '&#33;',
  '*': '&#42;',
  _: '&#95;',
  '~': '&#126;',
  '|': '&#124;',
  '\\': '&#92;',
  ':': '&#58;',
  '#': '&#35;',
};

/** For text inside `<pre>`: HTML, plus the brackets and backtick that could start a link or a fence. */
export function escapePre(text: string): string {
  return text.replace(/[&<>"'[\]`]/g, (c) => ENTITY[c]!);
}

/** For text inline in HTML (summary lines, paragraphs): every character Markdown or HTML gives meaning to. */
export function escapeInline(text: string): string {
  return text.replace(/[&<>"'[\]`()!*_~|\\:#]/g, (c) => ENTITY[c]!);
}

/** An http(s) URL from the API, escaped for an href; undefined for anything else (javascript:, data:, junk). */
export function safeHref(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  return parsed.href.replace(/[&<>"']/g, (c) => ENTITY[c]!);
}
