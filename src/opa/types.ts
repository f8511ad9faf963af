/** Wire types of OPA's REST API (v1), named as OPA names them (v1/server/types/types.go). */

export interface ErrorV1 {
  code: string;
  message: string;
  errors?: Array<{ code: string; message: string; location?: { file: string; row: number; col: number } }>;
}

export interface DataResponseV1 {
  decision_id?: string;
  /** Absent when the document is undefined for the input. */
  result?: unknown;
  metrics?: Record<string, number>;
  provenance?: { version?: string; bundles?: Record<string, { revision: string }>; revision?: string };
  warning?: { code: string; message: string };
}

/** One module of `GET /v1/policies`: its id, its source text and its AST (`package.path` is a ref of terms). */
export interface PolicyV1 {
  id: string;
  raw: string;
  ast: { package: { path: Array<{ type: string; value: unknown }> } };
}
