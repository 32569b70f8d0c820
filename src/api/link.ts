/**
 * RFC 8288 Link header parsing, for the API's pagination (`next`, `prev`, `first`, `last`).
 * Targets are resolved against the request URL, since a server may send them relative.
 */
export type PageLinks = Readonly<Partial<Record<string, string>>>;

export function parseLinkHeader(header: string | null | undefined, base: string): PageLinks {
  const links: Record<string, string> = {};
  if (!header) return links;
  // `<target>; param; param, <target>; …` — a target may itself contain commas and semicolons, so each
  // link is a `<target>` and the parameters up to the next `<`.
  const pattern = /<([^>]*)>([^<]*)/g;
  for (const match of header.matchAll(pattern)) {
    const [, target = '', params = ''] = match;
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))/i.exec(params);
    if (!rel) continue;
    let href: string;
    try {
      href = new URL(target.trim(), base).href;
    } catch {
      continue;
    }
    for (const name of (rel[1] ?? rel[2] ?? '').toLowerCase().split(/\s+/)) {
      if (name && !(name in links)) links[name] = href;
    }
  }
  return links;
}

/** The `page` query parameter of a pagination link (1 when absent), or undefined when it is not a number. */
export function pageNumberOf(href: string): number | undefined {
  const page = new URL(href).searchParams.get('page');
  if (page === null) return 1;
  return /^\d+$/.test(page) ? Number(page) : undefined;
}
