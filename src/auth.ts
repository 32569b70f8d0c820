/**
 * What requests authenticate with (SPEC.md step 1): the API token, or on Buildkite an OIDC token per suite,
 * minted by the agent (`buildkite-agent oidc request-token`) on first use and again when the API answers 401
 * (a JWT can expire during a long wait). Every minted JWT joins the run's secrets before it is used, so no
 * log line, annotation or error can show it; it goes nowhere but the Authorization header.
 */
import type { Credential } from './api/transport.js';
import type { ApiToken, Config } from './config.js';
import { CancelledError, GateError } from './errors.js';
import type { Secrets } from './secrets.js';

/** Prints a JWT for the audience, valid for the lifetime; throws a MintError with the agent's own words. */
export type MintToken = (audience: string, lifetimeSeconds: number, signal?: AbortSignal) => Promise<string>;

/** The agent could not mint a token; `detail` is its own error line. */
export class MintError extends GateError {
  override name = 'MintError';
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const ISSUER = 'https://agent.buildkite.com';

const TOKEN_DOCS = { title: 'Buildkite API access tokens', url: 'https://buildkite.com/docs/apis/managing-api-tokens' };
const OIDC_DOCS = { title: 'buildkite-agent oidc', url: 'https://buildkite.com/docs/agent/v3/cli-oidc' };

export function apiTokenCredential(token: ApiToken, org: string): Credential {
  return {
    authorization: async () => `Bearer ${token.token}`,
    description: `the token in ${token.source}`,
    fix: `Store a Buildkite API access token with the read_suites scope for organization "${org}" in ${token.source}.`,
    docs: TOKEN_DOCS,
  };
}

/** The audience of a suite's OIDC token: the suite's API URL, as Buildkite's test engine client (bktec) uses it. */
export function oidcAudience(apiUrl: string, org: string, suite: string): string {
  return `${apiUrl}/v2/analytics/organizations/${encodeURIComponent(org)}/suites/${encodeURIComponent(suite)}`;
}

/** The suite's web URL, the audience of Buildkite's OIDC docs and of its tests plugin. */
export function oidcWebAudience(org: string, suite: string): string {
  return `https://buildkite.com/organizations/${encodeURIComponent(org)}/analytics/suites/${encodeURIComponent(suite)}`;
}

/** `oidc-audience` filled in: `{org}`, `{suite}` and `{api-url}` replaced. */
export function fillAudience(template: string, apiUrl: string, org: string, suite: string): string {
  return template.replaceAll('{org}', org).replaceAll('{suite}', suite).replaceAll('{api-url}', apiUrl);
}

/**
 * The audiences to try for a suite, in order. Which one the runs endpoints require is documented nowhere: the API
 * URL (bktec's) first, then the web URL (the docs' and the tests plugin's); `oidc-audience` sets one outright.
 */
export function oidcAudiences(settings: OidcSettings, suite: string): string[] {
  if (settings.audience) return [fillAudience(settings.audience, settings.apiUrl, settings.org, suite)];
  return [oidcAudience(settings.apiUrl, settings.org, suite), oidcWebAudience(settings.org, suite)];
}

interface OidcSettings {
  readonly apiUrl: string;
  readonly org: string;
  readonly lifetimeSeconds: number;
  /** The token variable, for "or set one instead" in messages. */
  readonly tokenVariable: string;
  /** `oidc-audience`, when set: the one audience to mint for. */
  readonly audience?: string | undefined;
  /** Where the credential says which audience worked. */
  readonly log?: (line: string) => void;
}

class OidcCredential implements Credential {
  readonly docs = OIDC_DOCS;
  readonly #audiences: string[];
  /** Which of the audiences the current token is for. */
  #tried = 0;
  /** Whether a token of the current audience has been accepted: then a 401 means it expired. */
  #worked = false;
  #jwt: Promise<string> | undefined;

  constructor(
    readonly suite: string,
    readonly settings: OidcSettings,
    readonly mint: MintToken,
    readonly secrets: Secrets,
  ) {
    this.#audiences = oidcAudiences(settings, suite);
  }

  get description(): string {
    return this.#exhausted ? `every OIDC token minted for suite "${this.suite}" (audiences ${this.#audiences.join(' and ')})` : `the OIDC token minted for suite "${this.suite}"`;
  }

  /** Refused with every audience: the suite may not exist (a suite-scoped token is invalid until it does), or its policy is wrong. */
  get fix(): string {
    if (!this.#exhausted) return policyAdvice(this.suite, this.settings);
    return `The suite "${this.suite}" may not exist (check suite-slug: a token for a suite that does not exist is refused with 401), or its OIDC policy does not trust this pipeline. ${policyAdvice(this.suite, this.settings)}`;
  }

  get #exhausted(): boolean {
    return !this.#worked && this.#tried >= this.#audiences.length - 1 && this.#jwt !== undefined;
  }

  async authorization(): Promise<string> {
    this.#jwt ??= this.#mintOne();
    return `Bearer ${await this.#jwt}`;
  }

  accepted(): void {
    if (this.#worked) return;
    this.#worked = true;
    if (this.#tried > 0) this.settings.log?.(`${this.suite}: OIDC audience ${this.#audiences[this.#tried]} accepted (the suite's API URL was refused); kept for this suite`);
  }

  /**
   * After a 401: a token of an audience that worked has expired, so mint afresh; a freshly minted one was refused,
   * so try the next audience, once. False when there is none left.
   */
  async renew(): Promise<boolean> {
    if (!this.#worked) {
      if (this.#tried >= this.#audiences.length - 1) return false;
      this.#tried++;
    }
    this.#jwt = this.#mintOne();
    await this.#jwt;
    return true;
  }

  /** For organization-level endpoints (Build tests), which may refuse a suite's token: never renewed. */
  orgLevel(): Credential {
    return {
      authorization: () => this.authorization(),
      description: `suite "${this.suite}"'s OIDC token`,
      docs: TOKEN_DOCS,
      fix:
        `The Build tests API is organization-level and may refuse a suite's OIDC token: for retry and mute awareness, ` +
        `give the gate an API access token with read_suites in $${this.settings.tokenVariable}.`,
    };
  }

  async #mintOne(): Promise<string> {
    let jwt: string;
    try {
      jwt = (await this.mint(this.#audiences[this.#tried]!, this.settings.lifetimeSeconds)).trim();
    } catch (error) {
      if (error instanceof CancelledError) throw error;
      const said = error instanceof Error ? error.message : String(error);
      throw new MintError(`Could not get an OIDC token for suite "${this.suite}" from buildkite-agent (${said}).`, { fix: mintAdvice(this.suite, this.settings), docs: OIDC_DOCS });
    }
    if (!JWT.test(jwt)) {
      throw new MintError(`buildkite-agent oidc request-token printed something that is not a JWT for suite "${this.suite}".`, { fix: mintAdvice(this.suite, this.settings), docs: OIDC_DOCS });
    }
    this.secrets.add(jwt);
    return jwt;
  }
}

function policyAdvice(suite: string, settings: OidcSettings): string {
  return (
    `Give suite "${suite}" an OIDC policy in its Test Engine settings that trusts issuer ${ISSUER}, grants read_suites, ` +
    `and pins this pipeline with a claim such as pipeline_slug; or set $${settings.tokenVariable} to an API access token with read_suites.`
  );
}

function mintAdvice(suite: string, settings: OidcSettings): string {
  return `Without a stored token the gate needs buildkite-agent 3.41 or newer (oidc request-token). ${policyAdvice(suite, settings)}`;
}

export type CredentialFor = (suite: string, scope: 'suite' | 'org') => Credential;

/**
 * Which credential each request uses: the API token everywhere; or with OIDC a JWT per suite for the
 * suite's endpoints, and for organization-level ones the API token when there is one, else the suite's JWT.
 */
export function credentials(config: Config, mint: MintToken | undefined, secrets: Secrets, log?: (line: string) => void): CredentialFor {
  const token = config.token ? apiTokenCredential(config.token, config.org) : undefined;
  const oidc = config.oidc;
  if (!oidc || !mint) {
    if (!token) throw new Error('no credential: the configuration has neither a token nor OIDC');
    return () => token;
  }
  const perSuite = new Map<string, OidcCredential>();
  const settings = { apiUrl: config.apiUrl, org: config.org, lifetimeSeconds: oidc.lifetimeSeconds, tokenVariable: config.tokenVariable, audience: oidc.audience, log };
  return (suite, scope) => {
    if (scope === 'org' && token) return token;
    let credential = perSuite.get(suite);
    if (!credential) perSuite.set(suite, (credential = new OidcCredential(suite, settings, mint, secrets)));
    return scope === 'org' ? credential.orgLevel() : credential;
  };
}
