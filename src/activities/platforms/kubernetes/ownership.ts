/**
 * Ownership on Kubernetes (src/domain/ownership.ts): which objects of a
 * target's namespace are the target's, the marks on what cutover creates,
 * and the patch that adopts the serving release. An object is the target's
 * when its target label names it; the configured workload (the user's own
 * first blue) without marks is the target's by configuration. Anything else
 * is refused before a step changes anything, or left alone by an undo.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { RELEASE_LABEL } from '../../../domain/kubernetes';
import { NOT_OWNED, notOurs, ownerMarks, ownerOfMarks, type Marks, type Owner } from '../../../domain/ownership';

interface Meta {
  metadata?: V1ObjectMeta;
}

export class TargetObjects {
  constructor(
    readonly target: string,
    /** The workload the target's configuration names (its first blue). */
    private readonly configured: string,
  ) {}

  /** Who owns it: its marks; the configured workload without marks is the target's, by configuration. */
  ownerOf(o: Meta): Owner | undefined {
    return ownerOfMarks(o.metadata) ?? (o.metadata?.name === this.configured ? { target: this.target } : undefined);
  }

  isOurs(o: Meta): boolean {
    return this.ownerOf(o)?.target === this.target;
  }

  /** Carries another target's mark: never this target's, whatever serves. */
  isOthers(o: Meta): boolean {
    const owner = ownerOfMarks(o.metadata);
    return !!owner && owner.target !== this.target;
  }

  /** Why cutover leaves it alone. */
  notOurs(what: string, o: Meta): string {
    return notOurs(`${what} ${o.metadata?.name}`, this.ownerOf(o), this.target);
  }

  /** A name clash: fails the step, not retried, before anything changed. */
  clash(what: string, o: Meta): ApplicationFailure {
    return ApplicationFailure.nonRetryable(this.notOurs(what, o), NOT_OWNED);
  }

  /** Marks for what an upgrade creates for the target. */
  marks(upgrade: string): Marks {
    return ownerMarks({ target: this.target, upgrade });
  }

  /**
   * The merge patch that adopts the serving release's object for the target
   * (its metadata only: no pod restarts), or undefined if it is the target's
   * already. A per-release Service adopted with its release must be one
   * cutover made for it (its release label); another target's object is a clash.
   */
  adoption(what: string, o: Meta, upgrade: string, release?: string): { metadata: Partial<Marks> } | undefined {
    if (ownerOfMarks(o.metadata)?.target === this.target) return undefined;
    if (this.isOthers(o) || (release !== undefined && o.metadata?.labels?.[RELEASE_LABEL] !== release)) throw this.clash(what, o);
    const { labels, annotations } = ownerMarks({ target: this.target, adoptedBy: upgrade });
    return { metadata: { labels, annotations } };
  }

  /** An object that an upgrade re-owns (an orphan of the target taken up again): its upgrade annotation, if it names another. */
  reowning(o: Meta, upgrade: string): { metadata: { annotations: Record<string, string> } } | undefined {
    const { annotations } = this.marks(upgrade);
    const now = o.metadata?.annotations ?? {};
    return Object.entries(annotations).every(([k, v]) => now[k] === v) ? undefined : { metadata: { annotations } };
  }
}
