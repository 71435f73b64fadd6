import { ProducerError } from './errors.js';
import type { FetchLike, OperationAnswer, OperationRequest, Transport } from './transport.js';
import { failureOf, parseAnswer, parseRetryAfter } from './transport.js';

interface Queued {
  request: OperationRequest;
  signal: AbortSignal;
  resolve(answer: OperationAnswer): void;
  reject(error: unknown): void;
}

/**
 * Operations that are ready within `windowMs` of each other, with the same token, go in one
 * POST as a JSON array (GraphQL over HTTP batching, which the server accepts). Each carries its
 * own idempotency key in `extensions.idempotencyKey`: one header could not name several.
 */
export function createBatchTransport(url: string, fetchImpl: FetchLike, options: { windowMs: number; maxBatchSize: number }): Transport {
  const queues = new Map<string, { entries: Queued[]; timer?: ReturnType<typeof setTimeout> }>();

  function flush(token: string): void {
    const queue = queues.get(token);
    if (!queue) return;
    clearTimeout(queue.timer);
    queues.delete(token);
    const entries = queue.entries.filter((entry) => {
      if (!entry.signal.aborted) return true;
      entry.reject(failureOf(undefined, entry.signal));
      return false;
    });
    for (let start = 0; start < entries.length; start += options.maxBatchSize) {
      void post(token, entries.slice(start, start + options.maxBatchSize));
    }
  }

  async function post(token: string, entries: Queued[]): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    };
    if (token) headers.authorization = `Bearer ${token}`;
    const body = JSON.stringify(
      entries.map(({ request }) => ({
        query: request.query,
        operationName: request.operationName,
        variables: request.variables,
        extensions: { idempotencyKey: request.idempotencyKey },
      })),
    );
    // Any one call's deadline or close ends the request; the others' answers are then
    // unknown to them, and they retry with their keys like after any lost answer.
    const signal = AbortSignal.any(entries.map((entry) => entry.signal));
    let status: number;
    let retryAfter: string | null;
    let text: string;
    try {
      const response = await fetchImpl(url, { method: 'POST', headers, body, signal });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      for (const entry of entries) entry.reject(failureOf(error, entry.signal.aborted ? entry.signal : signal));
      return;
    }
    const retryAfterMs = parseRetryAfter(retryAfter);
    let answers: unknown;
    try {
      answers = JSON.parse(text);
    } catch {
      answers = undefined;
    }
    if (!Array.isArray(answers) || answers.length !== entries.length) {
      // One answer for the whole batch (an authentication failure, a limit): it is everyone's.
      let single: OperationAnswer;
      try {
        single = { ...parseAnswer(text, status), status, retryAfterMs };
      } catch (error) {
        for (const entry of entries) entry.reject(error);
        return;
      }
      for (const entry of entries) entry.resolve(single);
      return;
    }
    entries.forEach((entry, index) => {
      const answer = answers[index] as OperationAnswer | null;
      if (typeof answer !== 'object' || answer === null) {
        entry.reject(new ProducerError('BAD_RESPONSE', 'the batch answer holds no result for this operation', { status }));
      } else {
        entry.resolve({ ...answer, status, retryAfterMs });
      }
    });
  }

  return {
    send(request, token, signal) {
      return new Promise<OperationAnswer>((resolve, reject) => {
        const key = token ?? '';
        let queue = queues.get(key);
        if (!queue) queues.set(key, (queue = { entries: [] }));
        queue.entries.push({ request, signal, resolve, reject });
        if (queue.entries.length >= options.maxBatchSize) flush(key);
        else queue.timer ??= setTimeout(() => flush(key), options.windowMs);
      });
    },
    async close() {
      for (const key of [...queues.keys()]) flush(key);
    },
  };
}
