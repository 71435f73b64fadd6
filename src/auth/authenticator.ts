import { createPublicKey } from 'node:crypto';
import type { JWTPayload, JWTVerifyGetKey, KeyObject } from 'jose';
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
 * Verifies HS256 tokens against a shared secret, or RS256/ES256 tokens against a public key
 * or a JWKS endpoint. `sub` and `exp` are required.
 */
export function createAuthenticator(config: AuthConfig | undefined): Authenticator {
  if (!config) return { enabled: false, authenticate: async () => OPEN_VIEWER };
  let key: Uint8Array | KeyObject | JWTVerifyGetKey;
  let algorithms: string[];
  switch (config.kind) {
    case 'secret':
      key = new TextEncoder().encode(config.secret);
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
  return {
    enabled: true,
    async authenticate(authorization) {
      if (!authorization) throw new AuthenticationError('missing Authorization: Bearer <token>');
      const match = /^Bearer +([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(authorization.trim());
      if (!match) throw new AuthenticationError('Authorization must be "Bearer <jwt>"');
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(match[1]!, key as Uint8Array, options));
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
    },
  };
}
