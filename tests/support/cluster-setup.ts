import type { TestProject } from 'vitest/node';
import { startRedisCluster } from './cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `host:port,…` of the 3-master Redis Cluster every test file shares. */
    redisClusterNodes: string;
  }
}

/**
 * One Redis Cluster for the whole run (vitest globalSetup): files run the same suites on it
 * as on the shared Redis, each under its own key prefix. Removed when the run ends.
 */
export default async function setup(project: TestProject) {
  const cluster = await startRedisCluster({ masters: 3 });
  project.provide('redisClusterNodes', cluster.nodeList);
  return () => cluster.dispose();
}
