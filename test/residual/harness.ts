import { request } from 'undici';
import { startLocalOpa, type LocalOpa } from '../../src/opa/supervisor.js';
import {
  compileBody,
  compileRequests,
  mergeCompileResponses,
  inliningPlan,
  residualOpaClient,
} from '../../src/residual/engine.js';
import type { CompileResponseV1 } from '../../src/residual/ast.js';
import type { InliningPlan } from '../../src/residual/engine.js';

/**
 * The OPA timeout of the engines these tests build. The tests judge what a residual decides, not how fast OPA
 * compiles: on a loaded machine a compile can take longer than the gateway's 2 s default, and a compile that
 * timed out would leave the path without a residual until the next poll (the tests poll once a minute).
 */
export const COMPILE_TIMEOUT_MS = 30_000;

export interface Harness {
  opa: LocalOpa;
  /** The merged compile response for a decision path, exactly as the engine builds it. */
  residual(path: string): Promise<{ response: CompileResponseV1; plan: InliningPlan }>;
  /** OPA's decisions for many inputs in one `POST /v1/query` (`with input as`), or per-input Data API calls. */
  decide(path: string, inputs: unknown[]): Promise<OpaVerdict[]>;
  /** One Data API call: the result, or an error. */
  dataApi(path: string, input: unknown): Promise<OpaVerdict>;
  stop(): Promise<void>;
}

/** OPA's answer: `result` (undefined = no decision) or `error` (e.g. eval_conflict_error). */
export type OpaVerdict = { result: unknown } | { error: string };

/** The decision contract's "allowed with no deny and no warn violations". */
export function allowedClean(v: OpaVerdict): boolean {
  if ('error' in v) return false;
  const r = v.result;
  if (r === true) return true;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return false;
  const o = r as Record<string, unknown>;
  const empty = (x: unknown): boolean => x === undefined || (Array.isArray(x) && x.length === 0);
  return (o.allow === undefined || o.allow === true) && empty(o.deny) && empty(o.warn);
}

export async function startHarness(paths: string[]): Promise<Harness> {
  const opa = await startLocalOpa({ paths });
  const client = residualOpaClient(opa.url);
  const post = async (path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await request(opa.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
  };
  const dataApi = async (path: string, input: unknown): Promise<OpaVerdict> => {
    const { status, json } = await post(`/v1/data/${path}`, { input });
    if (status !== 200) return { error: String(json.code) };
    return { result: json.result };
  };
  return {
    opa,
    async residual(path) {
      const plan = inliningPlan(await client.policies());
      const bodies = await Promise.all(compileRequests(path, plan).map((r) => compileBody(client, r)));
      return { response: mergeCompileResponses(bodies), plan };
    },
    dataApi,
    async decide(path, inputs) {
      const ref = 'data.' + path.split('/').join('.');
      const { status, json } = await post('/v1/query', {
        query: `__out := {i: d | some i, x in input.batch; d := ${ref} with input as x}`,
        input: { batch: inputs },
      });
      if (status === 200) {
        const out = ((json.result as { __out: Record<string, unknown> }[])[0]?.__out ?? {}) as Record<string, unknown>;
        return inputs.map((_, i) => ({ result: out[String(i)] }));
      }
      // An evaluation error (a conflict) in one input fails the whole batch: ask per input instead.
      const verdicts: OpaVerdict[] = [];
      for (let i = 0; i < inputs.length; i += 16) {
        verdicts.push(...(await Promise.all(inputs.slice(i, i + 16).map((x) => dataApi(path, x)))));
      }
      return verdicts;
    },
    stop: () => opa.stop(),
  };
}
