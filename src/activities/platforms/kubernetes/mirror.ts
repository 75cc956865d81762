/**
 * A local copy of a set of Kubernetes objects kept current by a watch, as an
 * informer does: list, then watch from the list's resourceVersion; after a
 * dropped connection or a timeout resume from the last resourceVersion seen,
 * after 410 Gone (that version has been compacted away) list again. Either
 * way no change is missed, and every change calls onChange at once.
 */
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

export interface MirrorOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** The collection's path, e.g. /api/v1/namespaces/ns/pods. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Lists the same collection (with the caller's error handling). */
  list(): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  onChange(): void;
  /** A list or watch failed; the mirror tries again after a short pause. */
  onError(err: unknown): void;
}

const RETRY_MS = 200;

export class Mirror<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();
  private resourceVersion: string | undefined;
  private current: AbortController | undefined;
  private stopped = false;
  private listed!: Promise<void>;

  constructor(private readonly o: MirrorOptions<T>) {}

  /**
   * Lists (the returned promise ends when the first list is in; a list that
   * fails is told to onError and tried again, as a watch is) and follows.
   */
  start(): Promise<void> {
    this.listed = this.firstList();
    this.listed.then(() => this.follow(), () => undefined);
    return this.listed;
  }

  private async firstList(): Promise<void> {
    for (;;) {
      try {
        return await this.relist();
      } catch (err) {
        if (this.stopped) throw err;
        this.o.onError(err);
        await new Promise((r) => setTimeout(r, RETRY_MS));
        if (this.stopped) throw err;
      }
    }
  }

  items(): T[] {
    return [...this.objects.values()];
  }

  stop(): void {
    this.stopped = true;
    this.current?.abort();
  }

  private async relist(): Promise<void> {
    const list = await this.o.list();
    this.objects.clear();
    for (const item of list.items) this.objects.set(item.metadata!.uid!, item);
    this.resourceVersion = list.metadata?.resourceVersion;
    this.o.onChange();
  }

  private async follow(): Promise<void> {
    let expired = false;
    const again = async (err: unknown): Promise<void> => {
      if (this.stopped) return;
      if (err) {
        this.o.onError(err);
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
      try {
        if (expired || !this.resourceVersion) await this.relist();
      } catch (listErr) {
        return again(listErr);
      }
      void this.follow();
    };
    this.current = await new Watch(this.o.kc).watch(
      this.o.path,
      { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector },
      (type: string, obj: T & { code?: number }) => {
        if (type === 'ERROR') {
          // 410 Gone: the version we hold is too old to resume from
          expired = obj.code === 410;
          return;
        }
        this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
        if (type === 'BOOKMARK') return;
        if (type === 'DELETED') this.objects.delete(obj.metadata!.uid!);
        else this.objects.set(obj.metadata!.uid!, obj);
        this.o.onChange();
      },
      (err: unknown) => {
        if ((err as { statusCode?: number } | null)?.statusCode === 410) expired = true;
        void again(err && !this.stopped ? err : undefined);
      },
    );
    if (this.stopped) this.current.abort();
  }
}

export interface FollowOptions<R> {
  /** The mirrors to follow, built with the hooks that tell the wait of their changes and errors. */
  mirrors(hooks: { onChange(): void; onError(err: unknown): void }): Mirror<KubernetesObject>[];
  /** Asked on each change once every mirror has listed, and every heartbeatMs: a value ends the wait, a throw fails it. */
  check(): R | undefined;
  /** A failed list (the first one too) or watch: an error returned ends the wait with it; undefined, the mirror tries again. */
  fatal(err: unknown): Error | undefined;
  /** How often check runs while nothing changes, so that it heartbeats and a cancellation (rollback) reaches the wait; default 1 s. */
  heartbeatMs?: number;
  /** Rejects when the wait must end (the activity's cancellation). */
  cancelled: Promise<unknown>;
}

/** Follows the mirrors until check answers, heartbeat-paced in between; every mirror stops when the wait ends. */
export function followUntil<R>(o: FollowOptions<R>): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    let listed = false; // every first list in: before that, an absent object means nothing
    const end = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearInterval(beat);
      mirrors.forEach((m) => m.stop());
      fn();
    };
    const check = (): void => {
      if (!listed || settled) return;
      try {
        const result = o.check();
        if (result !== undefined) end(() => resolve(result));
      } catch (err) {
        end(() => reject(err));
      }
    };
    const mirrors = o.mirrors({
      onChange: check,
      onError: (err) => {
        const fatal = o.fatal(err);
        if (fatal) end(() => reject(fatal));
      },
    });
    const beat = setInterval(check, o.heartbeatMs ?? 1000);
    o.cancelled.catch((err: unknown) => end(() => reject(err)));
    Promise.all(mirrors.map((m) => m.start())).then(
      () => {
        listed = true;
        check();
      },
      (err: unknown) => end(() => reject(err)),
    );
  });
}
