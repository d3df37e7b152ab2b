import { useEffect, useState } from 'preact/hooks';

/**
 * One shared one-second clock for every ticking figure (since, countdowns). Only the components
 * that show time re-render each second, and the interval stops when none is mounted.
 */
const listeners = new Set<(now: number) => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  const now = Date.now();
  for (const listener of listeners) listener(now);
}

export function useNow(): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    listeners.add(setNow);
    if (timer === undefined) timer = setInterval(tick, 1000);
    return () => {
      listeners.delete(setNow);
      if (listeners.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  }, []);
  return now;
}
