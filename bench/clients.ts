/** How the benchmarks talk to a server as its clients do: with a token, over HTTP and graphql-ws. */
import type { Agent } from 'node:http';
import { request } from 'node:http';
import type { Client, ClientOptions } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** Queries and mutations over HTTP with `token`; a GraphQL error fails the call. */
export function graphqlCaller(token: string) {
  return async (url: string, query: string, variables: Record<string, unknown>, extra: Record<string, string> = {}): Promise<any> => {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...extra };
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const result = (await response.json()) as { data?: any; errors?: unknown[] };
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    return result.data;
  };
}

/**
 * A query or mutation over HTTP on a keep-alive `agent` (node:http, so no fetch machinery is
 * measured on the load generator's side), with `token`; a GraphQL error fails the call.
 */
export function postGraphql(
  url: string,
  agent: Agent,
  token: string,
  query: string,
  variables: Record<string, unknown>,
  extraHeaders: Record<string, string> = {},
): Promise<any> {
  const body = JSON.stringify({ query, variables });
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}`, ...extraHeaders };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const result = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: any; errors?: unknown[] };
        if (result.errors) reject(new Error(JSON.stringify(result.errors)));
        else resolve(result.data);
      });
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A graphql-ws client of the server at `url` (its HTTP address) that presents `token`,
 * resolved once connected; a refused connection fails instead of hanging. No retries: a
 * benchmark counts a lost connection rather than hiding it.
 */
export async function connectGraphqlWs(url: string, token: string, options: Partial<ClientOptions> = {}): Promise<Client> {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    onNonLazyError: () => {},
    ...options,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.on('connected', () => resolve());
      client.on('closed', (event) => reject(new Error(`connection closed: ${(event as { code?: number }).code ?? 'unknown'}`)));
    });
  } catch (error) {
    await client.dispose();
    throw error;
  }
  return client;
}
