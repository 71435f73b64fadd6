import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { createAppPool, testConfig } from './support/servers.js';
import { TEST_SECRET } from './support/tokens.js';

const pool = createAppPool();
afterEach(() => pool.stopAll());

const TOKEN = 'metrics-token-for-prometheus';

function production(overrides: Partial<Config> = {}) {
  return pool.start(testConfig('memory', 'unused:', { production: true, graphiql: false, auth: { kind: 'secret', secret: TEST_SECRET }, ...overrides }));
}

const metricsOf = (graphqlUrl: string) => new URL('/metrics', graphqlUrl).toString();

describe('/metrics', () => {
  it('is not served on the API port in production without METRICS_TOKEN or METRICS_PORT', async () => {
    const app = await production();
    expect((await fetch(metricsOf(app.url))).status).toBe(404);
  });

  it('asks for METRICS_TOKEN as a bearer token', async () => {
    const app = await production({ metricsToken: TOKEN });
    expect((await fetch(metricsOf(app.url))).status).toBe(401);
    expect((await fetch(metricsOf(app.url), { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
    const scraped = await fetch(metricsOf(app.url), { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('rte_connections');
  });

  it('is served on METRICS_PORT only, and not on the API port', async () => {
    const app = await production({ metricsPort: 0 });
    expect((await fetch(metricsOf(app.url))).status).toBe(404);
    const scraped = await fetch(app.metricsUrl!);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('rte_connections');
  });

  it('stays public outside production, for development', async () => {
    const app = await pool.start(testConfig('memory', 'unused:'));
    expect((await fetch(metricsOf(app.url))).status).toBe(200);
  });

  it('settings are read from the environment and checked', () => {
    expect(loadConfig({ METRICS_TOKEN: TOKEN, METRICS_PORT: '9464' })).toMatchObject({ metricsToken: TOKEN, metricsPort: 9464 });
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_PORT: 'x' })).toThrow(ConfigError);
  });
});
