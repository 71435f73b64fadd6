/**
 * Self time of a V8 CPU profile (`node --cpu-prof`) by package and by function, as shares
 * of all samples: where a server's CPU goes.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [top functions, default 25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, topArgument] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
const top = Number(topArgument ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const hits = new Map<number, number>();
for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
const total = profile.samples.length;

/** `node_modules/<package>` (scoped ones whole), `node:internal` for Node, `ours` for the project. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1]!;
  if (url.startsWith('node:')) return 'node (built-in)';
  if (/\/(src|bench)\//.test(url)) return 'this project';
  return url;
}

/** The package whose code called into Node or native code: Node's own work charged to whoever asked for it. */
function callerOf(id: number): string {
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const { url, functionName } = byId.get(at)!.callFrame;
    const pkg = packageOf(url, functionName);
    if (pkg !== 'node (built-in)' && pkg !== '(native)') return pkg;
  }
  return 'node (built-in)';
}

const packages = new Map<string, number>();
const callers = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, count] of hits) {
  const { callFrame } = byId.get(id)!;
  const pkg = packageOf(callFrame.url, callFrame.functionName);
  packages.set(pkg, (packages.get(pkg) ?? 0) + count);
  const caller = callerOf(id);
  callers.set(caller, (callers.get(caller) ?? 0) + count);
  const where = callFrame.url ? `${callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${callFrame.lineNumber + 1}` : '';
  const name = `${callFrame.functionName || '(anonymous)'} ${where}`.trim();
  functions.set(name, (functions.get(name) ?? 0) + count);
}
const share = (count: number) => `${((count / total) * 100).toFixed(1)}%`.padStart(6);
console.log(`${file}: ${total} samples\n\nSelf time by package:`);
for (const [name, count] of [...packages].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${share(count)}  ${name}`);
console.log('\nSelf time by package, built-in and native work charged to the package that called it:');
for (const [name, count] of [...callers].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${share(count)}  ${name}`);
console.log(`\nSelf time by function (top ${top}):`);
for (const [name, count] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${share(count)}  ${name}`);
