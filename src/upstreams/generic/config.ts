import { z } from 'zod';
import { templateProblem } from './templates.js';

const template = z.string().superRefine((t, ctx) => {
  const problem = templateProblem(t);
  if (problem) ctx.addIssue({ code: 'custom', message: `path template ${t}: ${problem}` });
});

/** `upstreams[].generic`: what the gateway knows of a REST API it has no kind for. */
export const genericOptions = z.strictObject({
  /**
   * Path templates of the API's resources, e.g. `/v1/things/{id}`, tried in order: the first that matches a write's
   * path is `request.resource`, its variables `request.params`, its last variable `request.name`. A write no
   * template matches is still judged, with `resource: ""`.
   */
  templates: z.array(template).default([]),
  /** Path templates whose `POST`s only read (searches, queries): forwarded without a decision. Default: none. */
  readOnlyPosts: z.array(template).default([]),
  /**
   * Read the current object for updates and deletes (`GET` of the same path with the caller's credentials) into
   * `request.oldObject`. Off by default: an API whose resources are not readable at their own path would answer
   * something else than the object.
   */
  currentObject: z.boolean().default(false),
  /** The request headers that carry the caller's credentials (sent with the current-object read, never put in the input). */
  credentialHeaders: z.array(z.string().regex(/^[a-z0-9-]+$/, 'a lower-case header name')).default(['authorization', 'cookie']),
});

export type GenericOptions = z.output<typeof genericOptions>;
