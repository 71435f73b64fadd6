import type { ChildProcess } from 'node:child_process';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cluster } from 'ioredis';
import { Redis } from 'ioredis';
import { projectSlotTag } from '../../src/store/entity-ids.js';
import { freePort } from './processes.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export interface ClusterNode {
  host: string;
  port: number;
}

/** A Redis Cluster of local `redis-server` processes, each in a directory of its own. */
export interface RedisClusterProcesses {
  nodes: ClusterNode[];
  /** `host:port,host:port,…`, as REDIS_CLUSTER_NODES takes it. */
  nodeList: string;
  /** A direct connection to one node, closed by `dispose()`. */
  node(port: number): Redis;
  /** Stops a node abruptly, as a crash would. */
  kill(port: number): Promise<void>;
  /** Every node agrees the cluster is whole and every replica is in sync with its master. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes their directories. */
  dispose(): Promise<void>;
}

/**
 * Starts `masters` masters with `replicasPerMaster` replicas each from the installed
 * binaries, on free ports, without persistence, and joins them with `redis-cli --cluster
 * create`. Resolves once every node reports `cluster_state:ok`.
 *
 * @param nodeTimeoutMs how long a master may be unreachable before its replica takes over
 */
export async function startRedisCluster({
  masters = 3,
  replicasPerMaster = 0,
  nodeTimeoutMs = 1000,
  extraArgs = [],
}: {
  masters?: number;
  replicasPerMaster?: number;
  nodeTimeoutMs?: number;
  /** More `redis-server` arguments for every node. */
  extraArgs?: string[];
} = {}): Promise<RedisClusterProcesses> {
  const root = mkdtempSync(join(tmpdir(), 'rte-cluster-'));
  const children = new Map<number, ChildProcess>();
  const connections = new Map<number, Redis>();
  const count = masters * (1 + replicasPerMaster);
  const nodes: ClusterNode[] = [];

  function node(port: number): Redis {
    let connection = connections.get(port);
    if (!connection) {
      connection = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      connection.on('error', () => {});
      connections.set(port, connection);
    }
    return connection;
  }

  async function answers(port: number): Promise<boolean> {
    const connection = node(port);
    try {
      if (connection.status === 'end' || connection.status === 'close') {
        connections.delete(port);
        return answers(port);
      }
      if (connection.status !== 'ready') await connection.connect();
      return (await connection.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async function kill(port: number): Promise<void> {
    const child = children.get(port);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  async function dispose(): Promise<void> {
    for (const connection of connections.values()) connection.disconnect();
    await Promise.all([...children.keys()].map(kill));
    rmSync(root, { recursive: true, force: true });
  }

  async function waitUntilHealthy(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      async () => {
        for (const [port, child] of children) {
          if (child.exitCode !== null || child.signalCode !== null) continue;
          const info = await node(port).cluster('INFO').catch(() => '');
          if (!/cluster_state:ok/.test(String(info))) return false;
          const replication = await node(port).info('replication').catch(() => '');
          if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) return false;
        }
        return true;
      },
      { timeoutMs, what: 'cluster_state:ok on every node' },
    );
  }

  try {
    for (let index = 0; index < count; index++) {
      const port = await freePort();
      const busPort = await freePort();
      const dir = join(root, String(port));
      mkdirSync(dir);
      const child = spawn(
        'redis-server',
        [
          '--port', String(port),
          '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes',
          '--cluster-port', String(busPort),
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', String(nodeTimeoutMs),
          '--dir', dir,
          '--save', '',
          '--appendonly', 'no',
          // A replica's first sync starts at once instead of waiting for more replicas.
          '--repl-diskless-sync-delay', '0',
          ...extraArgs,
        ],
        { stdio: 'ignore' },
      );
      children.set(port, child);
      nodes.push({ host: '127.0.0.1', port });
    }
    await waitFor(async () => (await Promise.all(nodes.map(({ port }) => answers(port)))).every(Boolean), {
      what: 'every redis-server of the cluster',
    });
    await run('redis-cli', [
      '--cluster', 'create',
      ...nodes.map(({ host, port }) => `${host}:${port}`),
      '--cluster-replicas', String(replicasPerMaster),
      '--cluster-yes',
    ]);
    await waitUntilHealthy();
  } catch (error) {
    await dispose();
    throw error;
  }

  return {
    nodes,
    nodeList: nodes.map(({ host, port }) => `${host}:${port}`).join(','),
    node,
    kill,
    waitUntilHealthy,
    dispose,
  };
}

/**
 * The master (`host:port`) that owns the slot of each project, as the cluster reports it
 * now. A project's keys and its sharded channel all live in the slot of its tag.
 */
export async function shardsOfProjects(cluster: Cluster, projectIds: readonly string[]): Promise<Map<string, string>> {
  const ranges = await cluster.cluster('SLOTS');
  const owner = (slot: number) => {
    const [, , master] = ranges.find(([from, to]) => slot >= from && slot <= to)!;
    return `${master![0]}:${master![1]}`;
  };
  const shards = new Map<string, string>();
  for (const projectId of projectIds) {
    const slot = Number(await cluster.cluster('KEYSLOT', `{${projectSlotTag(projectId)}}`));
    shards.set(projectId, owner(slot));
  }
  return shards;
}

/** `perShard` project ids on each master of the cluster, named `<label>-<n>`. */
export async function projectsOnEveryShard(cluster: Cluster, label: string, perShard: number): Promise<Map<string, string>> {
  const masters = (await cluster.cluster('SHARDS')) as unknown[];
  const chosen = new Map<string, string>();
  const perMaster = new Map<string, number>();
  for (let index = 0; chosen.size < masters.length * perShard; index++) {
    if (index > 10_000) throw new Error(`could not place ${perShard} projects on each of ${masters.length} shards`);
    const projectId = `${label}-${index}`;
    const shard = (await shardsOfProjects(cluster, [projectId])).get(projectId)!;
    if ((perMaster.get(shard) ?? 0) >= perShard) continue;
    perMaster.set(shard, (perMaster.get(shard) ?? 0) + 1);
    chosen.set(projectId, shard);
  }
  return chosen;
}
