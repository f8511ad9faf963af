import { Pool, errors as undiciErrors } from 'undici';
import { WritegateError } from '../errors.js';
import type { DataResponseV1, ErrorV1, PolicyV1 } from './types.js';

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

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function encodePath(path: string): string {
  return path.split('/').filter(Boolean).map(encodeURIComponent).join('/');
}

/**
 * The one client for OPA's REST API — Data (decisions), Compile and Policy APIs (the residual engine; uploads and
 * deletes for the policy lifecycle, src/policy/), health —
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
  private async send(method: Method, path: string, body?: string, contentType = 'application/json'): Promise<{ status: number; text: string }> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let res;
    try {
      res = await this.pool.request({
        method,
        path,
        signal,
        headers: body === undefined ? {} : { 'content-type': contentType },
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
  private async call<T>(method: Method, path: string, body?: string, contentType?: string): Promise<{ status: number; json: T }> {
    const { status, text } = await this.send(method, path, body, contentType);
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

  /** `GET /v1/policies`, parsed: every module in OPA's store (Policy API uploads, files it loaded, bundles) with its AST. */
  async listPolicies(): Promise<PolicyV1[]> {
    const { json } = await this.call<{ result?: PolicyV1[] }>('GET', '/v1/policies');
    return json.result ?? [];
  }

  /**
   * `PUT /v1/policies/{id}` with the module's text (`text/plain`, the bytes kept as they are). OPA parses and
   * compiles it with every other module and refuses (400, kept in the error's details) on any error, or when its
   * package lies under a bundle's roots ("path … is owned by bundle …"); an identical upload is a no-op.
   */
  async putPolicy(id: string, raw: string): Promise<void> {
    await this.call('PUT', `/v1/policies/${encodePath(id)}`, raw, 'text/plain');
  }

  /** `DELETE /v1/policies/{id}`; OPA refuses (400) when the remaining modules no longer compile. */
  async deletePolicy(id: string): Promise<void> {
    await this.call('DELETE', `/v1/policies/${encodePath(id)}`);
  }

  /** `GET /v1/data/{path}` without input: the document, or `undefined` when it is undefined. Decision-logged by OPA. */
  async getData(path: string): Promise<unknown> {
    const { json } = await this.call<DataResponseV1>('GET', `/v1/data/${encodePath(path)}`);
    return json.result;
  }

  /** `PUT /v1/data/{path}`: creates or replaces the document (refused under a bundle's roots). */
  async putData(path: string, value: unknown): Promise<void> {
    await this.call('PUT', `/v1/data/${encodePath(path)}`, JSON.stringify(value));
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
