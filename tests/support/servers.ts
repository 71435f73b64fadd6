import type { Logger } from 'pino';
import type { App } from '../../src/app.js';
import { createApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import { REDIS_URL, clusterNodes } from './redis.js';

export type Backend = 'memory' | 'redis' | 'cluster';

/** Every backend, for suites that prove the same behaviour on each. */
export const BACKENDS: readonly Backend[] = ['memory', 'redis', 'cluster'];

/**
 * Config for a test server: port 0, silent, and Redis (or the shared Redis Cluster) under
 * `prefix` when asked for.
 */
export function testConfig(backend: Backend, prefix: string, overrides: Partial<Config> = {}): Config {
  return {
    ...loadConfig({}),
    port: 0,
    logLevel: 'silent',
    redisUrl: backend === 'redis' ? REDIS_URL : undefined,
    redisClusterNodes: backend === 'cluster' ? clusterNodes() : undefined,
    redisKeyPrefix: prefix,
    ...overrides,
  };
}

/**
 * Started apps, stopped by `stopAll()` in `afterEach`/`afterAll` so no test leaks a server,
 * socket or Redis client into the next.
 */
export function createAppPool() {
  const apps = new Set<App>();
  return {
    async start(config: Config, logger?: Logger): Promise<App> {
      const app = createApp(config, logger);
      apps.add(app);
      await app.start();
      return app;
    },
    async stopAll(): Promise<void> {
      await Promise.all([...apps].map((app) => app.stop()));
      apps.clear();
    },
  };
}
