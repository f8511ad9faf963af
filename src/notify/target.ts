/** A place notifications go (Slack-compatible webhook, issue tracker), and the one way they are posted. */
import type { Message } from './message.js';

export type TargetName = 'slack' | 'issues';

export interface Target {
  readonly name: TargetName;
  /** Delivers one message; throws a {@link DeliveryError}. */
  send(message: Message, event: string, signal: AbortSignal): Promise<void>;
}

/** A failed delivery: whether trying again may help, and how long the target asked to wait (Retry-After). */
export class DeliveryError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly retryAfterMs?: number, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3), in ms from now. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^[0-9]+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * POSTs a JSON body. A connection failure, a timeout, 408, 429 and 5xx are worth another try; any other answer
 * that is not 2xx is not (the message or the configuration is wrong). Errors name the target, never its URL (a
 * webhook URL is a secret) nor the headers.
 */
export async function postJson(target: TargetName, url: string, headers: Record<string, string>, body: unknown, signal: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal, redirect: 'error',
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    const why = signal.aborted ? 'timed out or cancelled' : cause?.code ?? (err as Error).name;
    throw new DeliveryError(`${target}: not delivered (${why})`, true, undefined, { cause: err });
  }
  await res.body?.cancel();
  if (res.ok) return;
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  throw new DeliveryError(`${target}: answered ${res.status}`, retryable, retryable ? retryAfter(res.headers.get('retry-after')) : undefined);
}
