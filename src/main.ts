import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Invalid configuration: ${error.message}`);
  process.exit(1);
}

const app = createApp(config);
try {
  await app.start();
} catch (error) {
  app.logger.fatal({ err: error }, 'could not start');
  await app.stop();
  process.exit(1);
}
app.logger.info(
  { url: app.url, backend: config.redisUrl ? 'redis' : 'in-process' },
  `GraphQL API listening at ${app.url}${config.graphiql ? ' (open it in a browser for GraphiQL)' : ''}`,
);

// SIGTERM (orchestrators, deploys) drains: clients get the grace period, then reconnect
// elsewhere and resume. SIGINT (Ctrl-C) stops at once, also in the middle of a drain.
//
// A signal can arrive more than once: a supervisor that signals the whole process group
// (systemd's KillMode=control-group, Ctrl-C in a terminal) reaches this process directly and
// again through `npm start`, which relays it. So the handlers stay installed for the life of
// the process (`on`, not `once`): a repeated signal must find them, not Node's default action,
// which would kill the process mid-drain and cut every WebSocket with 1006.
let shutdown: 'draining' | 'stopping' | undefined;

function exitAfter(work: Promise<void>): void {
  work.then(
    () => process.exit(0),
    (error: unknown) => {
      app.logger.error({ err: error }, 'stop failed');
      process.exit(1);
    },
  );
}

process.on('SIGTERM', (signal) => {
  if (shutdown) {
    app.logger.info({ signal }, `already ${shutdown}`);
    return;
  }
  shutdown = 'draining';
  app.logger.info({ signal }, 'stopping');
  exitAfter(app.drain());
});

process.on('SIGINT', (signal) => {
  if (shutdown === 'stopping') {
    app.logger.info({ signal }, 'already stopping');
    return;
  }
  // stop() closes what a drain in progress is still waiting on; its own stop() then joins this one.
  app.logger.info({ signal, interrupted: shutdown === 'draining' ? 'drain' : undefined }, 'stopping');
  shutdown = 'stopping';
  exitAfter(app.stop());
});
