import { Pool, errors as undiciErrors } from 'undici';
import { WritegateError } from '../errors.js';
import type { DataResponseV1, ErrorV1 } from './types.js';

export interface OpaClientOptions {
  url: string;
  /** A call that has not answered within this many ms is a timeout. */
  timeoutMs: number;
}

export interface Decision {
  decisionId: string | undefined;
  /** `undefined` when OPA says the document is undefined for the input. */
  result: unknown;
  defined: boolean;
  metrics: Record<string, number> | undefined;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function encodePath(path: string): string {
  return path.split('/').filter(Boolean).map(encodeURIComponent).join('/');
}

/**
 * The one client for OPA's REST API — Data (decisions), Compile and Policy APIs (the residual engine), health —
 * on a keep-alive undici pool. Transport failures become WG_ERR_OPA_* errors that keep the undici error as
 * `cause`.
 */
export class OpaClient {
  readonly url: string;
  private readonly pool: Pool;
  private readonly timeoutMs: number;

  constructor(options: OpaClientOptions) {
    this.url = options.url.replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs;
    this.pool = new Pool(this.url, {
      connections: 32,
      pipelining: 1,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
    });
  }

  /** One request on the pool: the status and the body's text; transport failures and timeouts become WG_ERR_OPA_*. */
  private async send(method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; text: string }> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let res;
    try {
      res = await this.pool.request({
        method,
        path,
        signal,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body }),
      });
    } catch (err) {
      const code = (err as { code?: string; name?: string }).code;
      if ((code !== undefined && TIMEOUT_CODES.has(code)) || (err as Error).name === 'TimeoutError' || err instanceof undiciErrors.RequestAbortedError) {
        throw new WritegateError('WG_ERR_OPA_TIMEOUT', `${method} ${path} took longer than ${this.timeoutMs}ms`, { cause: err });
      }
      throw new WritegateError('WG_ERR_OPA_UNAVAILABLE', `${method} ${this.url}${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      return { status: res.statusCode, text: await res.body.text() };
    } catch (err) {
      throw new WritegateError('WG_ERR_OPA_TIMEOUT', `${method} ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A JSON call: OPA's ErrorV1 answers (status 400 and up) become WG_ERR_OPA_BAD_ANSWER with the error kept. */
  private async call<T>(method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; json: T }> {
    const { status, text } = await this.send(method, path, body);
    let json: unknown;
    try {
      json = text.length ? JSON.parse(text) : {};
    } catch (err) {
      throw new WritegateError('WG_ERR_OPA_BAD_ANSWER', `${method} ${path}: status ${status}, body is not JSON`, { cause: err });
    }
    if (status >= 400) {
      const e = json as ErrorV1;
      throw new WritegateError('WG_ERR_OPA_BAD_ANSWER', `${method} ${path}: ${status} ${e.code ?? ''} ${e.message ?? ''}`.trim(), {
        details: { opaStatus: status, opaError: e },
      });
    }
    return { status, json: json as T };
  }

  /**
   * `POST /v1/compile` (Compile API): the status and the exact body bytes, any status, since the residual engine
   * hashes the body and reads some 400s as an answer (src/residual/engine.ts compileBody). Not decision-logged
   * (v1/server/server.go v1CompilePost). `request` is a CompileRequestV1 (v1/server/types/types.go; the residual
   * engine's src/residual/ast.ts spells it out).
   */
  async compile(request: object): Promise<{ status: number; body: string }> {
    const { status, text } = await this.send('POST', '/v1/compile', JSON.stringify(request));
    return { status, body: text };
  }

  /** `GET /v1/policies` (Policy API): the body of the list of loaded modules with their ASTs. */
  async policies(): Promise<string> {
    const { status, text } = await this.send('GET', '/v1/policies');
    if (status !== 200) throw new WritegateError('WG_ERR_OPA_BAD_ANSWER', `GET /v1/policies answered ${status}: ${text.slice(0, 200)}`);
    return text;
  }

  /** `POST /v1/data/{path}`: OPA evaluates, logs the decision and returns its `decision_id`. */
  async decide(path: string, input: unknown): Promise<Decision> {
    const { json } = await this.call<DataResponseV1>('POST', `/v1/data/${encodePath(path)}?metrics`, JSON.stringify({ input }));
    const defined = Object.prototype.hasOwnProperty.call(json, 'result');
    return { decisionId: json.decision_id, result: json.result, defined, metrics: json.metrics };
  }

  /** `GET /health`: true when OPA evaluates a trivial query. */
  async healthy(): Promise<boolean> {
    try {
      const { status } = await this.call('GET', '/health');
      return status === 200;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
