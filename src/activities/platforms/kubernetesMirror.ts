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

  /** Lists (the returned promise ends when the first list is in, or fails with its error) and follows. */
  start(): Promise<void> {
    this.listed = this.relist();
    this.listed.then(() => this.follow(), () => undefined);
    return this.listed;
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
