import { createHash } from 'node:crypto';
import type { GraphQLResolveInfo } from 'graphql';
import { badUserInput } from '../errors.js';
import type { IdempotentCall } from '../store/change-applier.js';
import { IDEMPOTENCY_FINGERPRINT_LENGTH } from '../store/state-store.js';

/** The HTTP header a key may come in; `extensions.idempotencyKey` works on every transport. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** 1 to 255 printable ASCII characters. */
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** The idempotency key of one mutation request, once parsed; see `idempotencyPlugin`. */
export interface RequestIdempotency {
  key: string;
  /** Whose key it is: a key belongs to its caller's subject. */
  subjectTag: string;
  /** The request's hash, taken on first read: a call that records nothing never hashes it. */
  readonly fingerprint: string;
  windowMs: number;
  /** Set when any field of the request was answered from its record. */
  replayed: boolean;
}

function digest(text: string, length: number): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, length);
}

/** JSON with object keys in sorted order, so two encodings of the same variables agree. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The key a request carries, from the header or `extensions.idempotencyKey`, checked;
 * undefined when it carries none.
 * @throws BAD_USER_INPUT for a malformed key, or a header and an extension that differ
 */
export function parseIdempotencyKey(header: string | null | undefined, extension: unknown): string | undefined {
  if (extension !== undefined && extension !== null) {
    if (typeof extension !== 'string' || !KEY_PATTERN.test(extension)) {
      throw badUserInput('idempotencyKey', 'extensions.idempotencyKey must be 1 to 255 printable ASCII characters');
    }
    if (header != null && header !== extension) {
      throw badUserInput('idempotencyKey', 'the Idempotency-Key header and extensions.idempotencyKey differ; send one key');
    }
    return extension;
  }
  if (header == null) return undefined;
  if (!KEY_PATTERN.test(header)) throw badUserInput('idempotencyKey', 'the Idempotency-Key header must be 1 to 255 printable ASCII characters');
  return header;
}

/** What a key is checked against: the request's document, operation and variables. */
export function requestFingerprint(query: string, operationName: string | null | undefined, variables: unknown): string {
  return digest(`${query}\0${operationName ?? ''}\0${canonicalJson(variables ?? {})}`, IDEMPOTENCY_FINGERPRINT_LENGTH);
}

/** Subjects whose tag is kept, the most recent (the oldest go first), and the longest kept. */
const SUBJECT_TAGS_KEPT = 10_000;
const SUBJECT_TAG_MAX_LENGTH = 256;
const subjectTags = new Map<string, string>();

/** A subject as it appears in a record's key: fixed length, whatever the token holds. */
export function subjectTag(subject: string): string {
  let tag = subjectTags.get(subject);
  if (tag === undefined) {
    tag = digest(subject, 22);
    if (subject.length <= SUBJECT_TAG_MAX_LENGTH) {
      subjectTags.set(subject, tag);
      if (subjectTags.size > SUBJECT_TAGS_KEPT) subjectTags.delete(subjectTags.keys().next().value!);
    }
  }
  return tag;
}

/**
 * The idempotent call of one mutation field: each field of a request has a record of its
 * own, under its response key, so a document of several mutations has each happen once.
 */
export function idempotentCall(request: RequestIdempotency | undefined, info: Pick<GraphQLResolveInfo, 'path'>): IdempotentCall | undefined {
  if (!request) return undefined;
  return {
    record: {
      key: `${request.subjectTag}:${info.path.key}:${request.key}`,
      get fingerprint() {
        return request.fingerprint;
      },
      windowMs: request.windowMs,
    },
    replayed: () => {
      request.replayed = true;
    },
  };
}
