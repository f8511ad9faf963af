/**
 * The one wait helper of the tests: polls `check` until it holds and answers how long that took (ms). A check
 * that throws counts as "not yet" (nothing listening, a record not written yet); after `timeoutMs` the wait fails
 * with `what` and the last error.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<number> {
  const { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = options;
  const started = performance.now();
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return performance.now() - started;
    } catch (err) {
      last = err;
    }
    if (performance.now() - started > timeoutMs) {
      throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
