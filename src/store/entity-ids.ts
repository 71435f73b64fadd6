import { createHash, randomUUID } from 'node:crypto';

/** Hex characters of a project's slot tag: 40 bits, so unrelated projects rarely share a tag. */
const TAG_LENGTH = 10;
const TAGGED_ID = new RegExp(`^([0-9a-f]{${TAG_LENGTH}})\\.`);

/**
 * The tag that places every Redis key of a project in one hash slot: a short hash of the
 * project id. Two projects may share a tag (and a slot); their keys still differ, they are
 * only stored side by side.
 */
export function projectSlotTag(projectId: string): string {
  return createHash('sha256').update(projectId).digest('hex').slice(0, TAG_LENGTH);
}

/**
 * A new id for a job or run of `projectId`: `<project slot tag>.<uuid>`. The tag lets a
 * lookup by id alone find the entity's slot without asking Redis where it lives, so a
 * mutation by id costs no extra round trip. The id stays opaque to clients.
 *
 * @remarks A caller can write any tag into an id it makes up, but that only names a key in
 * that slot where no entity exists unless one was created under exactly that id; what a
 * caller may read or change is still decided by the `projectId` stored in the entity.
 */
export function newEntityId(projectId: string): string {
  return `${projectSlotTag(projectId)}.${randomUUID()}`;
}

/**
 * The slot tag an id was minted with. An id this server did not mint (made up, or from
 * before ids carried tags) gets a tag of its own, the hash of the id, where nothing is stored.
 */
export function slotTagOfId(id: string): string {
  return TAGGED_ID.exec(id)?.[1] ?? projectSlotTag(id);
}
