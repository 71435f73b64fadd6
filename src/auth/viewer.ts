import { DomainError, notFound } from '../errors.js';

/** Who is calling, and what they may do: parsed from a verified token, once per connection. */
export interface Viewer {
  /** The token's `sub`; limits are counted per subject. */
  subject: string;
  /** Projects the token names, or every project for `["*"]`. */
  projects: ReadonlySet<string> | 'all';
  /** `events:read`: query and subscribe. */
  canRead: boolean;
  /** `events:write`: mutate. */
  canWrite: boolean;
  /** When the token stops being valid, in ms since the epoch; streams end then. */
  expiresAt?: number;
}

/** The caller when no authentication is configured (allowed outside production only). */
export const OPEN_VIEWER: Viewer = { subject: 'anonymous', projects: 'all', canRead: true, canWrite: true };

function onProject(viewer: Viewer, projectId: string): boolean {
  return viewer.projects === 'all' || viewer.projects.has(projectId);
}

export function canReadProject(viewer: Viewer, projectId: string): boolean {
  return viewer.canRead && onProject(viewer, projectId);
}

/** Whether the caller may read a project, and if not, why. */
export type ReadDecision = 'allowed' | 'missing-scope' | 'other-project';

export function readDecision(viewer: Viewer, projectId: string): ReadDecision {
  if (!viewer.canRead) return 'missing-scope';
  return onProject(viewer, projectId) ? 'allowed' : 'other-project';
}

/**
 * A viewer with no rights but the given decision on one project. A shared audience executes
 * as this viewer, so its results cannot depend on anything its key does not name.
 */
export function viewerDecidedOn(projectId: string, decision: ReadDecision): Viewer {
  return {
    subject: 'shared-audience',
    projects: new Set(decision === 'allowed' ? [projectId] : []),
    canRead: decision !== 'missing-scope',
    canWrite: false,
  };
}

/** Refuses queries and subscriptions on a project the caller may not read. */
export function requireRead(viewer: Viewer, projectId: string): void {
  const decision = readDecision(viewer, projectId);
  if (decision === 'missing-scope') throw new DomainError('FORBIDDEN', 'this token lacks the events:read scope');
  if (decision === 'other-project') throw new DomainError('FORBIDDEN', `this token does not give access to project "${projectId}"`);
}

/** Refuses mutations on a project the caller may not write to. */
export function requireWrite(viewer: Viewer, projectId: string): void {
  if (!viewer.canWrite) throw new DomainError('FORBIDDEN', 'this token lacks the events:write scope');
  if (!onProject(viewer, projectId)) throw new DomainError('FORBIDDEN', `this token does not give access to project "${projectId}"`);
}

/**
 * What a service checks once it knows which project an existing entity belongs to. An
 * entity of a project the caller cannot see is reported as missing, so ids do not leak.
 */
export interface Access {
  /** Throws NOT_FOUND if the caller cannot see the project, FORBIDDEN if it cannot write. */
  assertWrite(projectId: string, what: string, id: string): void;
}

/** The server's own rights, for changes it makes itself (failing abandoned work). */
export const SERVER_ACCESS: Access = { assertWrite: () => {} };

export function accessFor(viewer: Viewer): Access {
  return {
    assertWrite(projectId, what, id) {
      if (!onProject(viewer, projectId)) throw notFound(what, id);
      requireWrite(viewer, projectId);
    },
  };
}

/** An entity looked up by id, or null when the caller may not see its project. */
export function visibleTo<T extends { projectId: string }>(viewer: Viewer, entity: T | undefined): T | null {
  return entity && canReadProject(viewer, entity.projectId) ? entity : null;
}
