import { gatewayUserInfo } from '../../auth/caller.js';
import { WritegateError, errorCatalogue } from '../../errors.js';
import { inputHeaders } from '../../http/headers.js';
import { decodeJsonBody } from '../../http/json-body.js';
import { decodeRequestPath, parseQuery, splitUrl } from '../../http/path.js';
import type { UpstreamClient } from '../client.js';
import { callHeaders, withCredentials } from '../headers.js';
import type { Classified, GateRequest, HeaderRules, KindConfig, RenderedResponse, UpstreamAdapter, Violation } from '../types.js';
import type { GenericOptions } from './config.js';
import { matchTemplate } from './templates.js';

export const INPUT_VERSION = 'writegate.dev/v1';

/** Methods that read (RFC 9110 §9.2.1 safe methods). Every other method is a write, judged. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Headers copied into the policy input (lower-case). Credentials never are. */
const INPUT_HEADERS = ['content-type', 'user-agent'];

/** Values under these keys are kept out of the decision log (the policy sees them). */
const SECRET_KEY = /password|secret|token|api_?key|private_?key|credential/i;
const MASK = '**masked**';

const UNIDENTIFIED = { username: '', uid: '', groups: [], extra: {}, authenticatedBy: 'none' };

interface GenericDetail {
  rawPath: string;
  path: string;
  query: Record<string, string[]>;
}

function operationOf(method: string): 'CREATE' | 'UPDATE' | 'DELETE' {
  return method === 'POST' ? 'CREATE' : method === 'DELETE' ? 'DELETE' : 'UPDATE';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function maskValue(v: unknown, depth: number): unknown {
  if (depth > 1000 || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map((x) => maskValue(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEY.test(k) && x !== null && x !== '' ? MASK : maskValue(x, depth + 1);
  return out;
}

function plain(status: number, body: Record<string, unknown>): RenderedResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * Any REST API: reads by method (and the POSTs configured as reads), every other request judged, resources named
 * by the configured path templates, JSON bodies only. It knows nothing of the API's identity scheme (the caller
 * is unidentified) nor of its error format (denies and errors are plain JSON).
 */
export class GenericAdapter implements UpstreamAdapter {
  readonly kind = 'generic';

  readonly headers: HeaderRules;

  constructor(private readonly cfg: KindConfig<'generic', GenericOptions>, upstream: UpstreamClient) {
    this.headers = withCredentials({
      stripped: [],
      protected: [],
      credentials: (req) => {
        const out: Record<string, string | string[]> = {};
        for (const h of cfg.generic.credentialHeaders) {
          const v = req.headers[h];
          if (v !== undefined) out[h] = v;
        }
        return out;
      },
      callerCredentials: cfg.generic.credentialHeaders,
    }, upstream.credentials);
  }

  readonly fixes = {};

  classify(req: GateRequest): Classified {
    // What an upgraded connection carries afterwards is never judged.
    if (req.upgrade) throw new WritegateError('WG_ERR_BAD_REQUEST', 'protocol upgrades are not forwarded to a generic upstream');
    const { rawPath, rawQuery } = splitUrl(req.url);
    const path = decodeRequestPath(rawPath);
    const query = parseQuery(rawQuery);
    const summary = `${req.method.toLowerCase()} ${path}`;
    if (READS.has(req.method) || (req.method === 'POST' && matchTemplate(this.cfg.generic.readOnlyPosts, path))) {
      return { isRead: true, operation: undefined, summary, detail: undefined };
    }
    const detail: GenericDetail = { rawPath, path, query };
    return { isRead: false, operation: operationOf(req.method), summary, detail };
  }

  async buildInput(req: GateRequest, classified: Classified, body: Buffer | undefined, upstream: UpstreamClient): Promise<Record<string, unknown>> {
    const { rawPath, path, query } = classified.detail as GenericDetail;
    const method = req.method;
    const operation = classified.operation as 'CREATE' | 'UPDATE' | 'DELETE';
    const parsed = decodeJsonBody(req.headers, body ?? Buffer.alloc(0));
    const match = matchTemplate(this.cfg.generic.templates, path);
    let oldObject: unknown = null;
    if (operation !== 'CREATE' && this.cfg.generic.currentObject) oldObject = await this.current(upstream, req, rawPath);
    const headers = inputHeaders(req.headers, INPUT_HEADERS);
    return {
      version: INPUT_VERSION,
      upstream: this.cfg.name,
      upstreamKind: this.kind,
      method,
      path,
      query,
      headers,
      request: {
        operation,
        method,
        path,
        query,
        body: parsed,
        object: operation === 'DELETE' ? null : parsed,
        oldObject,
        userInfo: this.cfg.identity === 'gateway' ? gatewayUserInfo(req.caller) : UNIDENTIFIED,
        resource: match?.template ?? '',
        name: match?.name ?? '',
        params: match?.params ?? {},
      },
    };
  }

  /**
   * The current object: `GET` of the write's own path with the caller's credentials. A 404 is no object (the write
   * meets the same answer); any other refusal is relayed as the answer to the write; a body other than JSON is an
   * upstream error.
   */
  private async current(upstream: UpstreamClient, req: GateRequest, rawPath: string): Promise<unknown> {
    const res = await upstream.request('GET', rawPath, callHeaders(this.headers.credentials(req), { accept: 'application/json' }));
    if (res.status === 404) return null;
    if (res.status !== 200) {
      throw new WritegateError('WG_ERR_RESOLVE_FAILED', `reading the current object (GET ${rawPath}) answered ${res.status}`, {
        details: { upstreamResponse: res },
      });
    }
    try {
      return JSON.parse(res.body.toString('utf8'));
    } catch (err) {
      throw new WritegateError('WG_ERR_UPSTREAM_BAD_ANSWER', `GET ${rawPath} answered something other than JSON`, { cause: err });
    }
  }

  renderDeny(reasons: Violation[], decisionId: string): RenderedResponse {
    const list = reasons.length ? reasons.map((r) => r.msg) : ['denied by policy'];
    return plain(403, { error: 'denied', message: `writegate denied the request: ${list.join('; ')}`, reasons: list, decision_id: decisionId });
  }

  renderError(err: WritegateError, decisionId: string | undefined): RenderedResponse {
    return plain(err.status, {
      error: err.code, message: `writegate: ${err.message}`, fix: errorCatalogue[err.code].fix, ...(decisionId ? { decision_id: decisionId } : {}),
    });
  }

  warningHeaders(warnings: Violation[]): string[] {
    return warnings.map((w) => {
      const text = w.msg.replace(/[\x00-\x1f\x7f]/g, ' ').replace(/[\\"]/g, (c) => `\\${c}`);
      return Buffer.from(`299 - "${text}"`, 'utf8').toString('latin1');
    });
  }

  maskInput(input: Record<string, unknown>): Record<string, unknown> {
    const request = input.request;
    if (!isObject(request)) return input;
    return { ...input, request: { ...request, body: maskValue(request.body, 0), object: maskValue(request.object, 0), oldObject: maskValue(request.oldObject, 0) } };
  }
}
