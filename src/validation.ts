import { badUserInput } from './errors.js';

const MAX_ID_LENGTH = 128;

/** Trimmed, non-empty, bounded text; `field` names the argument in the error. */
export function requireText(field: string, value: string, maxLength: number): string {
  const text = value.trim();
  if (text.length === 0) throw badUserInput(field, 'must not be empty');
  if (text.length > maxLength) {
    throw badUserInput(field, `must be at most ${maxLength} characters, got ${text.length}`);
  }
  return text;
}

/** Ids are opaque but bounded and free of whitespace, so they are safe in Redis keys and logs. */
export function requireId(field: string, value: string): string {
  if (value.length === 0) throw badUserInput(field, 'must not be empty');
  if (value.length > MAX_ID_LENGTH) {
    throw badUserInput(field, `must be at most ${MAX_ID_LENGTH} characters, got ${value.length}`);
  }
  if (/\s/.test(value)) throw badUserInput(field, `must not contain whitespace, got "${value}"`);
  return value;
}

export function optionalText(field: string, value: string | null | undefined, maxLength: number): string | null {
  return value == null ? null : requireText(field, value, maxLength);
}

export function optionalCount(field: string, value: number | null | undefined): number | null {
  if (value == null) return null;
  if (!Number.isInteger(value) || value < 0) throw badUserInput(field, `must be a non-negative integer, got ${value}`);
  return value;
}
