import type { Retention } from './store/state-store.js';

/** Everything the server reads from its environment, parsed once at start. */
export interface Config {
  /** @default 4000 (0 picks a free port) */
  port: number;
  /** @default "127.0.0.1" */
  host: string;
  /** Unset: state, log positions and fan-out stay in this process. */
  redisUrl?: string;
  /** Redis through Sentinel instead of `redisUrl`: the sentinels and the monitored master's name. */
  redisSentinels?: Array<{ host: string; port: number }>;
  redisSentinelName?: string;
  /** Redis Cluster instead of `redisUrl` or Sentinel: some of its nodes, from which it finds the rest. */
  redisClusterNodes?: Array<{ host: string; port: number }>;
  /**
   * Where to reach cluster nodes whose announced address is not reachable as announced (a
   * NAT, a proxy), by announced `host:port`. Not read from the environment.
   */
  redisClusterNatMap?: Record<string, { host: string; port: number }>;
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
  /** How much of each project's event log is kept for resume and history, and how long finished entities stay. */
  retention: Retention;
  /** How large one run may grow. */
  entityLimits: EntityLimits;
  /** At most one delta event per streaming message per this window (see the agent service); 0 sends each piece at once. @default 50 */
  agentDeltaWindowMs: number;
  /** Unset: the API is open (refused in production). */
  auth?: AuthConfig;
  limits: Limits;
  /**
   * Origins whose browser pages may call the API, on every transport (`ALLOWED_ORIGINS`);
   * unset allows any. Requests without an Origin (not from a page) are not refused by it.
   */
  allowedOrigins?: readonly string[];
  /** On SIGTERM, how long open connections keep being served before they are closed. @default 5000 */
  drainGraceMs: number;
  /**
   * How often plain streams (`/api/stream`) ping their WebSockets (a socket that did not
   * answer the previous ping is cut) and send an idle SSE stream a comment line. Not read from
   * the environment: tests shorten it.
   * @default 15000
   */
  streamHeartbeatMs: number;
  /**
   * `shared`: WebSocket subscribers with the same operation, variables and rights share one
   * execution per event. `per-subscriber`: each executes on its own (for comparison).
   * @default "shared"
   */
  fanout: 'shared' | 'per-subscriber';
  /** How producers' changes happen exactly once, and what happens to work whose producer vanished. */
  producing: Producing;
  /**
   * Deadline of every Redis command, in ms: past it, a mutation answers SERVICE_UNAVAILABLE
   * (outcome unknown) and `/ready` says not ready. @default 2000
   */
  redisCommandTimeoutMs: number;
  /** The clock of the domain, in ms. Not read from the environment: tests move it by hand. @default Date.now */
  now?: () => number;
  /**
   * `/metrics` on a port of its own (same host), and not on the API's. Unset: on the API's
   * port, public outside production; in production only with `metricsToken`.
   */
  metricsPort?: number;
  /** When set, `/metrics` asks for `Authorization: Bearer <metricsToken>` wherever it is served. */
  metricsToken?: string;
}

export interface Producing {
  /** How long an idempotency key is kept, in ms (IDEMPOTENCY_WINDOW_SECONDS). @default 86400000 */
  idempotencyWindowMs: number;
  /**
   * A job or run that sees no change for this long (ms) is failed by the server, its
   * streaming messages finished (ABANDONED_AFTER_SECONDS); 0 never. @default 0
   */
  abandonedAfterMs: number;
}

/** Where JWT signatures are checked against: exactly one of the three. */
export type AuthConfig = (
  | { kind: 'secret'; secret: string }
  | { kind: 'public-key'; publicKeyPem: string }
  | { kind: 'jwks'; jwksUrl: URL }
) & { issuer?: string; audience?: string };

/** Bounds on what one run holds, so that a run's storage is bounded by configuration. */
export interface EntityLimits {
  /** @default 10000 */
  maxMessagesPerRun: number;
  /** @default 1000 */
  maxStepsPerRun: number;
  /** @default 1000 */
  maxNodesPerWorkflow: number;
}

export interface Limits {
  /** Largest WebSocket frame accepted, in bytes. @default 65536 */
  maxPayloadBytes: number;
  /** Time a WebSocket has to send connection_init. @default 3000 */
  connectionInitTimeoutMs: number;
  /** @default 100 */
  maxSubscriptionsPerConnection: number;
  /** WebSockets plus SSE streams per token subject on one instance. @default 50 */
  maxConnectionsPerSubject: number;
  /**
   * Sustained mutation fields per second per subject, on this instance (bursts of twice that):
   * five messages streamed at once through the producer package's 25 ms window, with room for
   * their steps and progress.
   * @default 200
   */
  mutationsPerSecond: number;
  /**
   * Sustained subscriptions started per second per subject over graphql-ws, on this instance
   * (bursts of twice that): a subject resubscribes its `maxSubscriptionsPerSubject` at once
   * after a reconnect. Counted before validation; queries and mutations are not counted.
   * @default 100
   */
  subscriptionsPerSecond: number;
  /** Bytes a connection may have waiting to be sent before it is dropped as a slow consumer. @default 1048576 */
  outgoingBufferBytes: number;
  /** Events one subscription may have waiting to be sent before its consumer counts as slow. @default 1000 */
  maxQueuedEvents: number;
  /** @default 12 */
  maxDepth: number;
  /** @default 15 */
  maxAliases: number;
  /** @default 2000 */
  maxTokens: number;
  /** @default 10 */
  maxDirectives: number;
  /**
   * Counted with page sizes as fields see them, variables included: the client's own
   * snapshot of a project with its default 50 messages a run costs about 7,600.
   * @default 10000
   */
  maxCost: number;
  /**
   * Resumed subscriptions one subject replays at once on one instance; one more is refused
   * with RATE_LIMITED. A replay holds a page of the log while its client reads it.
   * @default 16
   */
  maxReplaysPerSubject: number;
  /** How long a replaying client may leave the next event unread before it is cut as a slow consumer. @default 10000 */
  replayStallMs: number;
  /** Subscriptions one subject holds on one instance, over all its connections and transports. @default 200 */
  maxSubscriptionsPerSubject: number;
  /** Distinct shared audiences (operation, variables, rights) one project has on one instance. @default 100 */
  maxAudiencesPerProject: number;
  /** Largest query or mutation response, in bytes of its JSON; larger ones are cut and refused with RESPONSE_TOO_LARGE. @default 4194304 */
  maxResponseBytes: number;
  /**
   * Bytes of query responses one subject takes a second on one instance, bursts of twice
   * that; a response refused as too large counts `maxResponseBytes`. Beyond it queries are
   * refused with RATE_LIMITED. With authentication only. @default 8388608
   */
  queryBytesPerSecond: number;
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
  const auth = loadAuth(env);
  if (production && !auth) {
    throw new ConfigError(
      'NODE_ENV=production needs authentication: set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL',
    );
  }
  const sentinels = hostPorts(env, 'REDIS_SENTINELS');
  if (sentinels && redisUrl) throw new ConfigError('set REDIS_URL or REDIS_SENTINELS, not both');
  const clusterNodes = hostPorts(env, 'REDIS_CLUSTER_NODES');
  if (clusterNodes && redisUrl) throw new ConfigError('set REDIS_CLUSTER_NODES or REDIS_URL, not both');
  if (clusterNodes && sentinels) throw new ConfigError('set REDIS_CLUSTER_NODES or REDIS_SENTINELS, not both');
  if (sentinels && !env.REDIS_SENTINEL_NAME) throw new ConfigError('REDIS_SENTINELS needs REDIS_SENTINEL_NAME, the monitored master');
  // One allowlist for every transport; WS_ALLOWED_ORIGINS is its earlier name, from when only WebSockets checked it.
  if (env.ALLOWED_ORIGINS !== undefined && env.WS_ALLOWED_ORIGINS !== undefined) {
    throw new ConfigError('set ALLOWED_ORIGINS or WS_ALLOWED_ORIGINS (its earlier name), not both');
  }
  const originsName = env.ALLOWED_ORIGINS === undefined && env.WS_ALLOWED_ORIGINS !== undefined ? 'WS_ALLOWED_ORIGINS' : 'ALLOWED_ORIGINS';
  const origins = env[originsName]?.split(',').map((origin) => origin.trim()).filter(Boolean);
  for (const origin of origins ?? []) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError(`${originsName} must list origins like https://app.example.com, got "${origin}"`);
    }
  }
  return {
    port: integer(env, 'PORT', 4000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    redisUrl,
    redisSentinels: sentinels,
    redisSentinelName: sentinels ? env.REDIS_SENTINEL_NAME : undefined,
    redisClusterNodes: clusterNodes,
    redisKeyPrefix,
    production,
    graphiql: boolean(env, 'GRAPHIQL', !production),
    logLevel,
    gapTimeoutMs: integer(env, 'GAP_TIMEOUT_MS', 100, 1, 60_000),
    retention: {
      maxEvents: integer(env, 'EVENT_LOG_MAX_EVENTS', 10_000, 0, 10_000_000),
      maxAgeMs: integer(env, 'EVENT_LOG_MAX_AGE_SECONDS', 86_400, 0, 31_536_000) * 1000,
      finishedMs: integer(env, 'FINISHED_RETENTION_SECONDS', 86_400, 0, 31_536_000) * 1000,
    },
    agentDeltaWindowMs: integer(env, 'AGENT_DELTA_WINDOW_MS', 50, 0, 1000),
    entityLimits: {
      maxMessagesPerRun: integer(env, 'MAX_MESSAGES_PER_RUN', 10_000, 1, 1_000_000),
      maxStepsPerRun: integer(env, 'MAX_STEPS_PER_RUN', 1000, 1, 100_000),
      maxNodesPerWorkflow: integer(env, 'MAX_NODES_PER_WORKFLOW', 1000, 1, 100_000),
    },
    auth,
    allowedOrigins: origins?.length ? origins : undefined,
    drainGraceMs: integer(env, 'DRAIN_GRACE_MS', 5000, 0, 600_000),
    streamHeartbeatMs: 15_000,
    fanout: fanout(env),
    producing: {
      idempotencyWindowMs: integer(env, 'IDEMPOTENCY_WINDOW_SECONDS', 86_400, 1, 31_536_000) * 1000,
      abandonedAfterMs: integer(env, 'ABANDONED_AFTER_SECONDS', 0, 1, 31_536_000) * 1000,
    },
    redisCommandTimeoutMs: integer(env, 'REDIS_COMMAND_TIMEOUT_MS', 2000, 100, 600_000),
    ...metricsAccess(env),
    limits: {
      maxPayloadBytes: integer(env, 'WS_MAX_PAYLOAD_BYTES', 65_536, 1024, 16_777_216),
      connectionInitTimeoutMs: integer(env, 'WS_CONNECTION_INIT_TIMEOUT_MS', 3000, 100, 60_000),
      maxSubscriptionsPerConnection: integer(env, 'MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, 1, 10_000),
      maxConnectionsPerSubject: integer(env, 'MAX_CONNECTIONS_PER_SUBJECT', 50, 1, 100_000),
      mutationsPerSecond: integer(env, 'MUTATIONS_PER_SECOND', 200, 1, 100_000),
      subscriptionsPerSecond: integer(env, 'SUBSCRIPTIONS_PER_SECOND', 100, 1, 100_000),
      outgoingBufferBytes: integer(env, 'OUTGOING_BUFFER_BYTES', 1_048_576, 1024, 1_073_741_824),
      maxQueuedEvents: integer(env, 'MAX_QUEUED_EVENTS', 1000, 1, 1_000_000),
      maxDepth: integer(env, 'MAX_QUERY_DEPTH', 12, 1, 100),
      maxAliases: integer(env, 'MAX_QUERY_ALIASES', 15, 0, 1000),
      maxTokens: integer(env, 'MAX_QUERY_TOKENS', 2000, 10, 100_000),
      maxDirectives: integer(env, 'MAX_QUERY_DIRECTIVES', 10, 0, 1000),
      maxCost: integer(env, 'MAX_QUERY_COST', 10_000, 1, 1_000_000),
      queryBytesPerSecond: integer(env, 'QUERY_BYTES_PER_SECOND', 8_388_608, 65_536, 1_000_000_000_000),
      maxReplaysPerSubject: integer(env, 'MAX_REPLAYS_PER_SUBJECT', 16, 1, 10_000),
      replayStallMs: integer(env, 'REPLAY_STALL_TIMEOUT_MS', 10_000, 10, 600_000),
      maxSubscriptionsPerSubject: integer(env, 'MAX_SUBSCRIPTIONS_PER_SUBJECT', 200, 1, 1_000_000),
      maxAudiencesPerProject: integer(env, 'MAX_AUDIENCES_PER_PROJECT', 100, 1, 1_000_000),
      maxResponseBytes: integer(env, 'MAX_RESPONSE_BYTES', 4_194_304, 1024, 1_073_741_824),
    },
  };
}

/** `host:port,host:port`; unset or empty gives undefined. */
function hostPorts(env: Environment, name: string): Array<{ host: string; port: number }> | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((entry) => {
    const match = /^\s*([^\s:]+):(\d{1,5})\s*$/.exec(entry);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new ConfigError(`${name} must list host:port pairs, got "${entry}"`);
    }
    return { host: match[1]!, port: Number(match[2]) };
  });
}

function loadAuth(env: Environment): AuthConfig | undefined {
  const sources = ['AUTH_JWT_SECRET', 'AUTH_JWT_PUBLIC_KEY', 'AUTH_JWKS_URL'].filter((name) => env[name]);
  if (sources.length > 1) throw new ConfigError(`set only one of ${sources.join(', ')}`);
  const claims = { issuer: env.AUTH_JWT_ISSUER || undefined, audience: env.AUTH_JWT_AUDIENCE || undefined };
  if (env.AUTH_JWT_SECRET) {
    if (env.AUTH_JWT_SECRET.length < 32) {
      throw new ConfigError(`AUTH_JWT_SECRET must be at least 32 characters, got ${env.AUTH_JWT_SECRET.length}`);
    }
    return { kind: 'secret', secret: env.AUTH_JWT_SECRET, ...claims };
  }
  if (env.AUTH_JWT_PUBLIC_KEY) {
    const pem = env.AUTH_JWT_PUBLIC_KEY.replace(/\\n/g, '\n');
    if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
      throw new ConfigError('AUTH_JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
    }
    return { kind: 'public-key', publicKeyPem: pem, ...claims };
  }
  if (env.AUTH_JWKS_URL) {
    let url: URL;
    try {
      url = new URL(env.AUTH_JWKS_URL);
    } catch {
      throw new ConfigError(`AUTH_JWKS_URL must be a URL, got "${env.AUTH_JWKS_URL}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ConfigError(`AUTH_JWKS_URL must be http(s), got "${env.AUTH_JWKS_URL}"`);
    }
    return { kind: 'jwks', jwksUrl: url, ...claims };
  }
  return undefined;
}

function metricsAccess(env: Environment): Pick<Config, 'metricsPort' | 'metricsToken'> {
  const token = env.METRICS_TOKEN || undefined;
  if (token !== undefined && (token.length < 16 || /\s/.test(token))) {
    throw new ConfigError(`METRICS_TOKEN must be at least 16 characters without spaces, got ${token.length} characters`);
  }
  const port = env.METRICS_PORT ? integer(env, 'METRICS_PORT', 0, 0, 65535) : undefined;
  return { metricsPort: port, metricsToken: token };
}

function fanout(env: Environment): Config['fanout'] {
  const value = env.FANOUT || 'shared';
  if (value !== 'shared' && value !== 'per-subscriber') {
    throw new ConfigError(`FANOUT must be shared or per-subscriber, got "${value}"`);
  }
  return value;
}
