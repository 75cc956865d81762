/** Data that follows the API: read now and every interval while the page shows it, until `done` says it will not change. */
import { useEffect, useRef, useState } from 'react';

export interface Polled<T> {
  data?: T;
  error?: string;
}

export function usePolling<T>(read: () => Promise<T>, intervalMs: number, key: string, done: (data: T) => boolean = () => false): Polled<T> {
  const [state, setState] = useState<Polled<T>>({});
  const readRef = useRef(read);
  readRef.current = read;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({});
    const tick = async () => {
      let again = true;
      try {
        const data = await readRef.current();
        if (stopped) return;
        setState({ data });
        again = !done(data);
      } catch (err) {
        if (stopped) return;
        setState((s) => ({ ...s, error: (err as Error).message }));
      }
      if (again && !stopped) timer = setTimeout(tick, intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [key, intervalMs]);
  return state;
}
