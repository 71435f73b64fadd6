import { createPublicKey } from 'node:crypto';
import type { CryptoKey, JWTPayload, JWTVerifyGetKey, KeyObject } from 'jose';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { AuthConfig } from '../config.js';
import type { Viewer } from './viewer.js';
import { OPEN_VIEWER } from './viewer.js';

/** The credentials were missing or not acceptable; the message says which, never the token. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
}

export interface Authenticator {
  /** False when no authentication is configured and every caller is `OPEN_VIEWER`. */
  readonly enabled: boolean;
  /** Verifies an `Authorization` value (`Bearer <jwt>`); throws `AuthenticationError`. */
  authenticate(authorization: string | null | undefined): Promise<Viewer>;
}

function viewerFrom(payload: JWTPayload): Viewer {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthenticationError('token has no sub claim');
  const projects = payload.projects;
  if (projects !== undefined && (!Array.isArray(projects) || projects.some((project) => typeof project !== 'string'))) {
    throw new AuthenticationError('token claim projects must be an array of project ids');
  }
  const scopes = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
  const named = (projects ?? []) as string[];
  return {
    subject: payload.sub,
    projects: named.includes('*') ? 'all' : new Set(named),
    canRead: scopes.has('events:read'),
    canWrite: scopes.has('events:write'),
    expiresAt: payload.exp! * 1000,
  };
}

/**
 * Verified tokens remembered at most, so a steady producer or subscriber is not verified
 * again on every request. A token takes well under a KiB: the cache stays within a few MiB.
 */
const VERIFIED_TOKENS_KEPT = 10_000;

/**
 * Verifies HS256 tokens against a shared secret, or RS256/ES256 tokens against a public key
 * or a JWKS endpoint. `sub` and `exp` are required.
 *
 * @remarks
 * A token that verified is remembered, by its whole text, until it expires (at most
 * `VERIFIED_TOKENS_KEPT`, the least recently used going first). Everything checked about it
 * (signature, algorithm, issuer, audience, required claims) depends on the token alone, so
 * the same text verifies the same way until its `exp`, which is checked on every use. Only
 * successes are kept: a caller cannot fill the cache with tokens that fail. A key removed
 * from a JWKS keeps its tokens accepted over HTTP until they expire, as a WebSocket
 * connection authenticated once keeps them for its life.
 *
 * @param clock ms since the epoch; tests move it to expire tokens
 */
export function createAuthenticator(config: AuthConfig | undefined, clock: () => number = Date.now): Authenticator {
  if (!config) return { enabled: false, authenticate: async () => OPEN_VIEWER };
  let key: Promise<CryptoKey> | KeyObject | JWTVerifyGetKey;
  let algorithms: string[];
  switch (config.kind) {
    case 'secret':
      // Imported once: given the raw bytes, jose imports them again on every verification.
      key = crypto.subtle.importKey('raw', new TextEncoder().encode(config.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      algorithms = ['HS256'];
      break;
    case 'public-key':
      key = createPublicKey(config.publicKeyPem);
      algorithms = ['RS256', 'ES256'];
      break;
    case 'jwks':
      key = createRemoteJWKSet(config.jwksUrl);
      algorithms = ['RS256', 'ES256'];
      break;
  }
  const options = { algorithms, issuer: config.issuer, audience: config.audience, requiredClaims: ['sub', 'exp'] };
  const verified = new Map<string, Viewer>();

  async function verify(token: string): Promise<Viewer> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (await key) as CryptoKey, { ...options, currentDate: new Date(clock()) }));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED') throw new AuthenticationError('token expired');
      if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
        throw new AuthenticationError('token signature is not valid');
      }
      if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JOSE_GENERIC') throw error;
      throw new AuthenticationError(`token rejected (${code ?? 'invalid'})`);
    }
    return viewerFrom(payload);
  }

  return {
    enabled: true,
    async authenticate(authorization) {
      if (!authorization) throw new AuthenticationError('missing Authorization: Bearer <token>');
      const match = /^Bearer +([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(authorization.trim());
      if (!match) throw new AuthenticationError('Authorization must be "Bearer <jwt>"');
      const token = match[1]!;
      const known = verified.get(token);
      if (known) {
        verified.delete(token);
        // jose's rule: a token is expired from the second its `exp` names.
        if (clock() >= known.expiresAt!) throw new AuthenticationError('token expired');
        verified.set(token, known);
        return known;
      }
      const viewer = await verify(token);
      verified.set(token, viewer);
      if (verified.size > VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value!);
      return viewer;
    },
  };
}
