/**
 * A Terraform plan (`terraform show -json PLANFILE`, format 1.x) as the policy input of policies/terraform: every
 * resource change with its address, type, actions and before/after values (policies/README.md, "Terraform plan
 * input"; policies/schemas/terraform/). The rest of the plan (configuration, variables, prior state) is left
 * out: variables and state carry secrets, and the rules judge changes.
 */
import { checkPolicyInput } from '../decision/input-value.js';
import { parseJsonStrict } from '../http/json.js';
import type { CheckSubject } from './evaluate.js';

export const TERRAFORM_INPUT_VERSION = 'writegate.dev/v1';

/** What a value Terraform marks sensitive is replaced with, as `terraform plan` prints it. */
export const SENSITIVE = '(sensitive value)';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `value` with every part that `sensitive` (a plan's before_sensitive / after_sensitive: `true`, or the same
 * shape as the value with `true` at the sensitive parts) marks replaced by {@link SENSITIVE}, so that secrets
 * reach neither OPA nor its decision log. A null stays null: it is not a secret, and rules may test for absence.
 */
export function redactSensitive(value: unknown, sensitive: unknown): unknown {
  if (sensitive === true) return value === null ? null : SENSITIVE;
  if (Array.isArray(value) && Array.isArray(sensitive)) return value.map((v, i) => redactSensitive(v, sensitive[i]));
  if (isObject(value) && isObject(sensitive)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSensitive(v, sensitive[k])]));
  }
  return value;
}

function bad(file: string, why: string): Error {
  return new Error(`${file}: ${why}`);
}

function parsePlan(text: string, file: string): Record<string, unknown> {
  let plan: unknown;
  try {
    // Its errors give a position, never the text: a plan holds secrets.
    plan = parseJsonStrict(text);
  } catch (err) {
    throw bad(file, `${(err as Error).message}; give the output of "terraform show -json PLANFILE"`);
  }
  try {
    // Bounds the nesting before anything here walks the plan.
    checkPolicyInput(plan);
  } catch (err) {
    throw bad(file, (err as Error).message);
  }
  if (!isObject(plan)) throw bad(file, 'not a Terraform JSON plan; give the output of "terraform show -json PLANFILE"');
  if (plan.format_version !== undefined && !(typeof plan.format_version === 'string' && plan.format_version.startsWith('1.'))) {
    throw bad(file, `plan format ${JSON.stringify(plan.format_version)} is not supported (1.x is)`);
  }
  // A state (`terraform show -json` without a plan file) has `values` and no planned changes.
  if (!('planned_values' in plan) && !('resource_changes' in plan) && !('configuration' in plan)) {
    throw bad(file, 'values' in plan
      ? 'a Terraform state, not a plan; run "terraform plan -out=PLANFILE" and give "terraform show -json PLANFILE"'
      : 'not a Terraform JSON plan (no resource_changes); give the output of "terraform show -json PLANFILE"');
  }
  if (plan.errored === true) throw bad(file, 'the plan errored, so its changes are incomplete; fix the plan first');
  return plan;
}

/**
 * Terraform's modes, read from the address when a hand-made plan leaves `mode` out: a data source's address is
 * `data.TYPE.NAME`, or `module.M.data.TYPE.NAME` in a module.
 */
function modeOf(rc: Record<string, unknown>, at: string, file: string): string {
  if (rc.mode === undefined) return /(^|\.)data\.[^.]+\.[^.]+$/.test(rc.address as string) ? 'data' : 'managed';
  if (rc.mode !== 'managed' && rc.mode !== 'data') throw bad(file, `${at}.mode is neither "managed" nor "data"`);
  return rc.mode;
}

/** One `resource_changes[]` entry, flattened: its `change` fields next to its address. */
function resourceChange(rc: unknown, i: number, file: string): Record<string, unknown> {
  const at = `resource_changes[${i}]`;
  if (!isObject(rc)) throw bad(file, `${at} is not an object`);
  for (const k of ['address', 'type'] as const) if (typeof rc[k] !== 'string' || !rc[k]) throw bad(file, `${at}.${k} is not a non-empty string`);
  if (rc.name !== undefined && typeof rc.name !== 'string') throw bad(file, `${at}.name is not a string`);
  const change = rc.change;
  if (!isObject(change)) throw bad(file, `${at}.change is not an object`);
  const actions = change.actions;
  if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === 'string')) {
    throw bad(file, `${at}.change.actions is not a list of actions`);
  }
  return {
    address: rc.address,
    ...(typeof rc.module_address === 'string' ? { module_address: rc.module_address } : {}),
    mode: modeOf(rc, at, file),
    type: rc.type,
    name: rc.name ?? '',
    ...('index' in rc ? { index: rc.index } : {}),
    provider_name: typeof rc.provider_name === 'string' ? rc.provider_name : '',
    actions,
    ...(typeof change.action_reason === 'string' ? { action_reason: change.action_reason } : {}),
    before: redactSensitive(change.before ?? null, change.before_sensitive),
    after: redactSensitive(change.after ?? null, change.after_sensitive),
    after_unknown: isObject(change.after_unknown) ? change.after_unknown : {},
  };
}

/** The plan in `text` (read from `file`) as one subject: one evaluation, one decision id for the whole plan. */
export function terraformSubject(text: string, file: string): CheckSubject {
  const plan = parsePlan(text, file);
  const raw = plan.resource_changes ?? [];
  if (!Array.isArray(raw)) throw bad(file, 'resource_changes is not a list');
  const changes = raw.map((rc, i) => resourceChange(rc, i, file));
  const input = {
    version: TERRAFORM_INPUT_VERSION,
    kind: 'terraform',
    terraform_version: typeof plan.terraform_version === 'string' ? plan.terraform_version : '',
    format_version: typeof plan.format_version === 'string' ? plan.format_version : '',
    resource_changes: changes,
  };
  const cases = changes.filter((c) => c.mode === 'managed').map((c) => c.address as string);
  return { file, subject: file, input, cases, defaultCase: file };
}
