/**
 * Runs `fn` on every item with at most `limit` calls in flight, and settles only when every started
 * call has settled: a failure never leaves writes running behind the caller's back. Rejects with
 * the first failure once all are done. Items not yet started when `stop()` turns true are skipped.
 *
 * @example
 * await forEachLimited(changes, 8, (c) => write(c), () => signal.aborted);
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && !stop()) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failed) throw failure;
}
