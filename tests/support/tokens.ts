import { SignJWT } from 'jose';
import type { CryptoKey, KeyObject } from 'jose';

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256';

export interface Claims {
  sub?: string;
  projects?: string[];
  scope?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
}

/** A signed token as an identity provider would issue it. */
export async function signToken(
  { sub = 'user-1', projects = ['*'], scope = 'events:read events:write', expiresIn = 3600 }: Claims = {},
  key: Uint8Array | CryptoKey | KeyObject = new TextEncoder().encode(TEST_SECRET),
  alg = 'HS256',
): Promise<string> {
  return new SignJWT({ projects, scope })
    .setProtectedHeader({ alg, kid: 'test-key' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
    .sign(key);
}

export const bearer = (token: string) => `Bearer ${token}`;
