/**
 * Path templates such as `/v1/things/{id}`: literal segments and whole-segment variables, matched against a
 * decoded request path (../../http/path.ts decodeRequestPath has already refused encoded slashes, dot and empty
 * segments, so a variable is exactly one segment as the upstream splits it).
 */
const VARIABLE = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** Why `template` is not a path template, or undefined when it is one. */
export function templateProblem(template: string): string | undefined {
  if (!template.startsWith('/')) return 'starts with "/"';
  const names = new Set<string>();
  for (const s of template.split('/').slice(1)) {
    if (s.includes('{') || s.includes('}')) {
      const m = VARIABLE.exec(s);
      if (!m) return `a variable is a whole segment such as {id} (not "${s}")`;
      if (names.has(m[1]!)) return `names {${m[1]}} twice`;
      names.add(m[1]!);
    } else if (s === '.' || s === '..' || (s === '' && template !== '/')) {
      return 'has no empty or dot segments';
    }
  }
  return undefined;
}

export interface TemplateMatch {
  template: string;
  params: Record<string, string>;
  /** The value of the template's last variable; '' when it has none. */
  name: string;
}

/** The first template (in configuration order) that matches `path` segment for segment. */
export function matchTemplate(templates: readonly string[], path: string): TemplateMatch | undefined {
  const segments = path.split('/').slice(1);
  for (const template of templates) {
    const parts = template.split('/').slice(1);
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let name = '';
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const v = VARIABLE.exec(parts[i]!);
      if (v) {
        ok = segments[i] !== '';
        params[v[1]!] = segments[i]!;
        name = segments[i]!;
      } else {
        ok = parts[i] === segments[i];
      }
    }
    if (ok) return { template, params, name };
  }
  return undefined;
}
