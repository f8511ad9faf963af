import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { clientKey } from './decision/limits.js';

/** What requests may hold in the gateway at once (limits.inflightBodyBytes[PerClient], limits.streamsPerClient). */
export interface ResourceLimits {
  inflightBodyBytes: number;
  inflightBodyBytesPerClient: number;
  streamsPerClient: number;
}

const OWNER = Symbol('writegate.resources');
const RESPONSE = Symbol('writegate.response');
const HELD = Symbol('writegate.bodyBytes');
const CLIENT = Symbol('writegate.client');
const STREAM = Symbol('writegate.stream');
const TIMED_OUT = Symbol('writegate.timedOut');

interface TrackedRequest extends IncomingMessage {
  [OWNER]?: Resources;
  [RESPONSE]?: ServerResponse;
  [HELD]?: number;
  [CLIENT]?: string;
}

interface TrackedResponse extends ServerResponse {
  [STREAM]?: string;
}

// Listeners shared by every request (no closure per request): `this` is the response, `this.req` its request.
function releaseBody(this: ServerResponse): void {
  (this.req as TrackedRequest)[OWNER]!.releaseBody(this.req as TrackedRequest);
}

function releaseStream(this: TrackedResponse): void {
  (this.req as TrackedRequest)[OWNER]!.closeStream(this[STREAM]!);
}

/**
 * Accounting of what requests hold while they are in flight: buffered write bodies (across the gateway and
 * per client), and streams (watches, log follows, any GET, and upgraded exec/attach/port-forward
 * connections) per client. All is given back when the response (or upgraded connection) closes, whether it
 * finished or was cut, so a stalled or abandoned request gives back what it held.
 */
export class Resources {
  /** Write-body bytes buffered now (received, being decided, or being forwarded). */
  bodyBytes = 0;
  /** Reads and upgraded streams in flight now. */
  streams = 0;
  private readonly perClient = new Map<string, number>();
  private readonly bodyPerClient = new Map<string, number>();

  constructor(private readonly limits: ResourceLimits) {}

  /**
   * Wraps the server's request listener. A read for which `isStream` holds counts against its client's
   * streamsPerClient until its response closes; one over the cap is answered by `tooMany` and goes no further.
   */
  listener(handler: RequestListener, isStream: (req: IncomingMessage) => boolean, tooMany: (req: IncomingMessage, res: ServerResponse) => void): RequestListener {
    return (req, res) => {
      const tracked = req as TrackedRequest;
      tracked[OWNER] = this;
      tracked[RESPONSE] = res;
      if ((req.method === 'GET' || req.method === 'HEAD') && isStream(req) && !this.openStream(req, res)) {
        tooMany(req, res);
        return;
      }
      handler(req, res);
    };
  }

  /**
   * Wraps the server's 'upgrade' listener: an exec, attach or port-forward stream counts against the same
   * streamsPerClient until its connection closes; one over the cap is answered by `tooMany`.
   */
  upgradeListener(
    handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
    tooMany: (req: IncomingMessage, socket: Duplex) => void,
  ): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
    return (req, socket, head) => {
      const key = clientKey(req.socket.remoteAddress ?? '');
      if (!this.open(key)) {
        tooMany(req, socket);
        return;
      }
      socket.once('close', () => this.closeStream(key));
      handler(req, socket, head);
    };
  }

  private openStream(req: IncomingMessage, res: ServerResponse): boolean {
    const key = clientKey(req.socket.remoteAddress ?? '');
    if (!this.open(key)) return false;
    (res as TrackedResponse)[STREAM] = key;
    res.once('close', releaseStream);
    return true;
  }

  private open(key: string): boolean {
    const open = this.perClient.get(key) ?? 0;
    if (open >= this.limits.streamsPerClient) return false;
    this.perClient.set(key, open + 1);
    this.streams++;
    return true;
  }

  /** @internal called when a counted read's response closes. */
  closeStream(key: string): void {
    this.streams--;
    const open = (this.perClient.get(key) ?? 1) - 1;
    if (open <= 0) this.perClient.delete(key);
    else this.perClient.set(key, open);
  }

  /** @internal see takeBodyBytes. */
  take(req: TrackedRequest, n: number): string | undefined {
    const res = req[RESPONSE];
    if (!res || res.closed) return 'the request is over';
    if (this.bodyBytes + n > this.limits.inflightBodyBytes) return 'limits.inflightBodyBytes reached';
    // One client must not take the whole budget and with it every other client's writes.
    const client = req[CLIENT] ?? clientKey(req.socket.remoteAddress ?? '');
    const mine = this.bodyPerClient.get(client) ?? 0;
    if (mine + n > this.limits.inflightBodyBytesPerClient) return 'limits.inflightBodyBytesPerClient reached for this client';
    if (req[HELD] === undefined) {
      req[HELD] = 0;
      req[CLIENT] = client;
      res.once('close', releaseBody);
    }
    req[HELD] += n;
    this.bodyBytes += n;
    this.bodyPerClient.set(client, mine + n);
    return undefined;
  }

  /** @internal called when the response of a request that buffered its body closes. */
  releaseBody(req: TrackedRequest): void {
    const held = req[HELD] ?? 0;
    req[HELD] = 0;
    this.bodyBytes -= held;
    const client = req[CLIENT]!;
    const left = (this.bodyPerClient.get(client) ?? held) - held;
    if (left <= 0) this.bodyPerClient.delete(client);
    else this.bodyPerClient.set(client, left);
  }
}

/** Marks a client connection that is closed because its request did not arrive within the limits. */
export function markTimedOut(socket: object): void {
  (socket as { [TIMED_OUT]?: boolean })[TIMED_OUT] = true;
}

/** Whether the request's connection was closed because the request did not arrive in time (a stalled body). */
export function timedOut(req: IncomingMessage): boolean {
  return (req.socket as { [TIMED_OUT]?: boolean } | null)?.[TIMED_OUT] === true;
}

/**
 * Accounts `n` more buffered body bytes to the request. Returns why not, when that would take the gateway past
 * limits.inflightBodyBytes or the client past limits.inflightBodyBytesPerClient (the caller refuses the write).
 * The bytes are given back when the response closes. A request that did not come through Resources.listener
 * (no limits configured) is not accounted.
 */
export function takeBodyBytes(req: IncomingMessage, n: number): string | undefined {
  return (req as TrackedRequest)[OWNER]?.take(req as TrackedRequest, n);
}
