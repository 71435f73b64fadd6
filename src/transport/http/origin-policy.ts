import type { OutgoingHttpHeaders } from 'node:http';

/**
 * Which browser pages may call the API, one answer for every transport: GraphQL over HTTP
 * and SSE, graphql-ws, and the plain streams (`ALLOWED_ORIGINS`).
 *
 * @remarks
 * The check protects browsers only: a browser always sends its page's `Origin`, so a request
 * without one is not from a page on another site (curl, a worker, a Node client) and is let
 * through, to be judged by its token. With no allowlist every origin is allowed. CORS never
 * allows credentials: tokens travel in a header, in `connectionParams` or in the URL, never
 * in cookies, so a page on another site cannot borrow a visitor's session.
 */
export interface OriginPolicy {
  /** Whether a request from `origin` (`undefined`: no Origin header) may be served. */
  allows(origin: string | undefined): boolean;
  /** The headers that let a page on `origin` read a response; none for a refused origin or none sent. */
  corsHeaders(origin: string | undefined): OutgoingHttpHeaders;
  /** The answer to a CORS preflight from an allowed `origin`. */
  preflightHeaders(origin: string | undefined, methods: string, headers: string): OutgoingHttpHeaders;
}

/** How long a browser may cache a preflight's answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function createOriginPolicy(allowedOrigins: readonly string[] | undefined): OriginPolicy {
  const allowed = allowedOrigins ? new Set(allowedOrigins) : undefined;
  const allows = (origin: string | undefined) => origin === undefined || allowed === undefined || allowed.has(origin);
  const corsHeaders = (origin: string | undefined): OutgoingHttpHeaders =>
    origin === undefined || !allows(origin) ? {} : { 'access-control-allow-origin': origin, vary: 'Origin' };
  return {
    allows,
    corsHeaders,
    preflightHeaders: (origin, methods, headers) => ({
      ...corsHeaders(origin),
      'access-control-allow-methods': methods,
      'access-control-allow-headers': headers,
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
    }),
  };
}
