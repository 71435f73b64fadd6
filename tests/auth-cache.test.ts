import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthenticationError, createAuthenticator } from '../src/auth/authenticator.js';
import { request } from './support/clients.js';
import { JOBS } from './support/operations.js';
import { createAppPool, testConfig } from './support/servers.js';
import { TEST_SECRET, bearer, signToken } from './support/tokens.js';
import { waitFor } from './support/wait-for.js';

const OTHER_SECRET = 'another-secret-that-is-long-enough-too';

/** An authenticator on a clock the test moves, and what it answers for a token. */
function authenticatorAt(start: number, config: Parameters<typeof createAuthenticator>[0] = { kind: 'secret', secret: TEST_SECRET }) {
  const clock = { now: start };
  const authenticator = createAuthenticator(config, () => clock.now);
  const outcome = (token: string) =>
    authenticator.authenticate(bearer(token)).then(
      (viewer) => viewer.subject,
      (error: unknown) => {
        if (!(error instanceof AuthenticationError)) throw error;
        return `refused: ${error.message}`;
      },
    );
  return { clock, outcome };
}

describe('verified tokens remembered for their lifetime', () => {
  it('refuses a remembered token from the second it expires', async () => {
    const token = await signToken({ sub: 'producer', expiresIn: 60 });
    const expiresAt = decodeJwt(token).exp! * 1000;
    const { clock, outcome } = authenticatorAt(Date.now());
    expect(await outcome(token)).toBe('producer');
    clock.now = expiresAt - 1;
    expect(await outcome(token)).toBe('producer');
    clock.now = expiresAt;
    expect(await outcome(token)).toBe('refused: token expired');
    // Refused for good, not only while it happened to be remembered.
    expect(await outcome(token)).toBe('refused: token expired');
  });

  it('refuses a remembered token’s claims under another signature, and a token of another key', async () => {
    const token = await signToken({ sub: 'producer' });
    const { outcome } = authenticatorAt(Date.now());
    expect(await outcome(token)).toBe('producer');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await outcome(`${header}.${payload}.${flipped}`)).toBe('refused: token signature is not valid');
    const forged = await signToken({ sub: 'producer' }, new TextEncoder().encode(OTHER_SECRET));
    expect(await outcome(forged)).toBe('refused: token signature is not valid');
    expect(await outcome(token)).toBe('producer');
  });

  it('keeps checking issuer and audience for every token, remembered or not', async () => {
    const { outcome } = authenticatorAt(Date.now(), { kind: 'secret', secret: TEST_SECRET, issuer: 'https://id.example', audience: 'events' });
    const key = new TextEncoder().encode(TEST_SECRET);
    const { SignJWT } = await import('jose');
    const sign = (claims: { iss?: string; aud?: string }) =>
      new SignJWT({ projects: ['*'], scope: 'events:write', ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('producer')
        .setExpirationTime('1h')
        .sign(key);
    expect(await outcome(await sign({ iss: 'https://id.example', aud: 'events' }))).toBe('producer');
    expect(await outcome(await sign({ iss: 'https://elsewhere.example', aud: 'events' }))).toMatch(/^refused: token rejected/);
    expect(await outcome(await sign({ iss: 'https://id.example' }))).toMatch(/^refused: token rejected/);
  });
});

describe('over HTTP', () => {
  const pool = createAppPool();
  afterEach(() => pool.stopAll());

  it('answers a token that worked with 401 once it has expired', async () => {
    const app = await pool.start(testConfig('memory', 'unused:', { auth: { kind: 'secret', secret: TEST_SECRET } }));
    // `exp` is in whole seconds, so a token for 1 s may expire at once: 2 s leaves at least one.
    const token = await signToken({ expiresIn: 2 });
    const headers = { authorization: bearer(token) };
    expect(await request(app.url, JOBS, { projectId: 'p' }, headers)).toMatchObject({ status: 200, data: { ingestJobs: [] } });
    const expiresAt = decodeJwt(token).exp! * 1000;
    await waitFor(() => Date.now() >= expiresAt, { timeoutMs: 4000, what: 'the token to expire' });
    const refused = await request(app.url, JOBS, { projectId: 'p' }, headers);
    expect(refused.status).toBe(401);
    expect(refused.errors).toEqual([expect.objectContaining({ message: 'token expired', extensions: { code: 'UNAUTHENTICATED' } })]);
  });
});
