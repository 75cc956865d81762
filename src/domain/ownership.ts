/**
 * Who owns what cutover creates. Every object it makes for a release carries
 * its owner, the target and the upgrade that made it (Kubernetes labels and
 * annotations, a PostgreSQL comment, the local state file), and cutover
 * changes or deletes only what belongs to the target it works for. A target's
 * serving release that cutover did not make (the user's own first blue) is
 * the target's because the target's configuration sends its traffic there:
 * the first upgrade adopts it, and says so on it. Pure: the platforms read
 * and write the marks.
 */

export interface Owner {
  target: string;
  /** The upgrade that created it (its id, `<target>.<runId>`); absent: not created by an upgrade. */
  upgrade?: string;
  /** A release cutover did not create, taken as the target's serving release: the upgrade that adopted it. */
  adoptedBy?: string;
}

/** On everything cutover creates for a target, and on a serving release it adopted: the target (a label, so it can be selected by). */
export const TARGET_LABEL = 'cutover.io/target';
/** The upgrade that created the object (an annotation: an upgrade id is longer than a label value may be). */
export const UPGRADE_ANNOTATION = 'cutover.io/upgrade';
/** On an adopted serving release: the upgrade that adopted it. */
export const ADOPTED_BY_ANNOTATION = 'cutover.io/adopted-by';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** The failure type of a clash: not retried; the step fails before it changed anything. */
export const NOT_OWNED = 'NotOwned';

export interface Marks {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * `owner` on a call that changes something: the id of the upgrade (or clean-up)
 * on whose behalf it acts. With it, the call creates objects marked as the
 * target's and that upgrade's, and changes or deletes only what is the
 * target's; a clash fails before anything changes, naming the owner. Without
 * it (runs started before ownership marks) it acts as it did then.
 */
export interface OwnedCall {
  target: string;
  owner?: string;
}

/** The labels and annotations that say who owns an object cutover creates. */
export function ownerMarks(owner: Owner): Marks {
  return {
    labels: { [TARGET_LABEL]: owner.target, [MANAGED_BY_LABEL]: 'cutover' },
    annotations: {
      ...(owner.upgrade ? { [UPGRADE_ANNOTATION]: owner.upgrade } : {}),
      ...(owner.adoptedBy ? { [ADOPTED_BY_ANNOTATION]: owner.adoptedBy } : {}),
    },
  };
}

/** The owner an object's labels and annotations name; undefined if it carries no target label. */
export function ownerOfMarks(meta: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined): Owner | undefined {
  const target = meta?.labels?.[TARGET_LABEL];
  if (!target) return undefined;
  const upgrade = meta?.annotations?.[UPGRADE_ANNOTATION];
  const adoptedBy = meta?.annotations?.[ADOPTED_BY_ANNOTATION];
  return { target, ...(upgrade ? { upgrade } : {}), ...(adoptedBy ? { adoptedBy } : {}) };
}

/** Whose an object is, for a message. */
export function describeOwner(owner: Owner | undefined): string {
  if (!owner) return 'not created by cutover (no owner mark)';
  const by = owner.upgrade ? ` (created by upgrade ${owner.upgrade})` : owner.adoptedBy ? ` (adopted by upgrade ${owner.adoptedBy})` : '';
  return `target '${owner.target}'${by}`;
}

/** Why cutover leaves an object alone, naming its owner. */
export function notOurs(what: string, owner: Owner | undefined, target: string): string {
  const whose = owner ? `belongs to ${describeOwner(owner)}, not to target '${target}'` : `carries no owner mark: it was not created by cutover for target '${target}'`;
  return `${what} ${whose}; cutover leaves it as it is`;
}

const COMMENT_PREFIX = 'cutover-owner ';

/** What a PostgreSQL comment (COMMENT ON ROLE / DATABASE) records: the owner, and the release the object is of. */
export interface OwnerRecord {
  owner: Owner;
  release?: string;
}

export function ownerComment(record: OwnerRecord): string {
  return COMMENT_PREFIX + JSON.stringify({ ...record.owner, ...(record.release ? { release: record.release } : {}) });
}

/** The record a comment holds; undefined for no comment or one cutover did not write. */
export function parseOwnerComment(comment: string | null | undefined): OwnerRecord | undefined {
  if (!comment?.startsWith(COMMENT_PREFIX)) return undefined;
  try {
    const { release, ...owner } = JSON.parse(comment.slice(COMMENT_PREFIX.length)) as Partial<Owner> & { release?: unknown };
    if (typeof owner.target !== 'string') return undefined;
    return { owner: owner as Owner, ...(typeof release === 'string' ? { release } : {}) };
  } catch {
    return undefined;
  }
}

/** One release of a target as it exists on its platform (and beside it, e.g. its database). */
export interface ReleaseObjects {
  name: string;
  /** Its version, where the platform records one. */
  version?: string;
  owner?: Owner;
  /** Its share of the target's traffic now: 0 for a release that serves nobody. */
  weight: number;
  /** What exists of it, e.g. `StatefulSet orders-mqtt-5-8-0-0b3f2a9c1d`, `database orders_2_0_0_0b3f2a9c1d`. */
  objects: string[];
}

/** Adds objects found beside the platform (a kind's, e.g. databases) to the releases they belong to, or as releases of their own. */
export function mergeReleases(platform: ReleaseObjects[], beside: ReleaseObjects[]): ReleaseObjects[] {
  const byName = new Map(platform.map((r) => [r.name, { ...r, objects: [...r.objects] }]));
  for (const r of beside) {
    const known = byName.get(r.name);
    if (known) {
      known.objects.push(...r.objects);
      known.owner ??= r.owner;
    } else byName.set(r.name, { ...r, objects: [...r.objects] });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/**
 * The target's releases nothing uses: no traffic, not part of the target's
 * running upgrade (`active`: its blue and green), e.g. what a terminated run
 * left. Only the target's own: what carries another's mark, or none, is not
 * the clean-up's to remove.
 */
export function orphans(releases: ReleaseObjects[], active: readonly string[], target: string): ReleaseObjects[] {
  return releases.filter((r) => r.weight === 0 && !active.includes(r.name) && r.owner?.target === target);
}
