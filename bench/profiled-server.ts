/**
 * Runs a server script (PROFILED_SCRIPT, default src/main.ts) under the V8 CPU profiler,
 * from SIGUSR2 (sent once the load is warm, so start-up and compilation stay out) until the
 * process exits, and writes the profile into PROFILE_DIR: what `--cpu-prof` records, which
 * Node 20 does not accept in NODE_OPTIONS, so a spawned server could not be given it.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const session = new Session();
session.connect();
// Within one thread the session answers synchronously, so the exit handler can still write.
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });
let started = false;
process.once('SIGUSR2', () => {
  started = true;
  session.post('Profiler.start');
});
process.on('exit', () => {
  if (!started) return;
  session.post('Profiler.stop', (error, result) => {
    if (error) throw error;
    writeFileSync(join(process.env.PROFILE_DIR ?? '.', `server-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
await import(pathToFileURL(resolve(process.env.PROFILED_SCRIPT ?? 'src/main.ts')).href);
