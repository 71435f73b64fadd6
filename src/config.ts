import type { LogRetention } from './store/state-store.js';

/** Everything the server reads from its environment, parsed once at start. */
export interface Config {
  /** @default 4000 (0 picks a free port) */
  port: number;
  /** @default "127.0.0.1" */
  host: string;
  /** Unset: state, log positions and fan-out stay in this process. */
  redisUrl?: string;
  /** Prefix of every Redis key and channel this server touches. @default "rte:" */
  redisKeyPrefix: string;
  /** `NODE_ENV=production`. */
  production: boolean;
  /** GraphiQL at /graphql for browsers. @default true outside production */
  graphiql: boolean;
  /** @default "info" */
  logLevel: LogLevel;
  /** How long an out-of-order event waits for the ones before it before they are read from the log. @default 100 */
  gapTimeoutMs: number;
  /** How much of each project's event log is kept for resume and history. */
  retention: LogRetention;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A configuration value that cannot be used; its message is one line naming the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Environment = Record<string, string | undefined>;

function integer(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function boolean(env: Environment, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Reads and checks the configuration; throws `ConfigError` on the first bad value. */
export function loadConfig(env: Environment = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL must look like redis://host:port or rediss://host:port, got "${redisUrl}"`);
  }
  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const redisKeyPrefix = env.REDIS_KEY_PREFIX ?? 'rte:';
  if (!/^[\w:.-]{0,64}$/.test(redisKeyPrefix)) {
    throw new ConfigError(`REDIS_KEY_PREFIX must be up to 64 letters, digits, or _ : . -, got "${redisKeyPrefix}"`);
  }
  return {
    port: integer(env, 'PORT', 4000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    redisUrl,
    redisKeyPrefix,
    production,
    graphiql: boolean(env, 'GRAPHIQL', !production),
    logLevel,
    gapTimeoutMs: integer(env, 'GAP_TIMEOUT_MS', 100, 1, 60_000),
    retention: {
      maxEvents: integer(env, 'EVENT_LOG_MAX_EVENTS', 10_000, 0, 10_000_000),
      maxAgeMs: integer(env, 'EVENT_LOG_MAX_AGE_SECONDS', 86_400, 0, 31_536_000) * 1000,
    },
  };
}
