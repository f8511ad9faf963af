/**
 * NetBox's GraphQL API is read-only ("NetBox provides a read-only GraphQL API", docs/integrations/graphql-api.md:
 * its schema has a Query type and no Mutation or Subscription type), so `POST /graphql/` is a read when its
 * document holds only queries. This reads just enough of the GraphQL lexical grammar (spec, "Appendix B: Grammar
 * Summary": ignored tokens, punctuators, names, string and block string values) to find the operation types of the
 * document's top-level definitions; a mutation or subscription, and a document it cannot read, are refused rather
 * than forwarded as a read.
 */
import { WritegateError } from '../../errors.js';

/** Top-level names that make a definition something other than a query. */
const NOT_QUERIES = new Set(['mutation', 'subscription']);

const OPEN = new Set(['{', '(', '[']);
const CLOSE = new Set(['}', ')', ']']);

function malformed(what: string): WritegateError {
  return new WritegateError('WG_ERR_MALFORMED_BODY', `the GraphQL document ${what}`);
}

/**
 * Throws unless every top-level definition of `doc` is a query (named, anonymous or `{...}` shorthand) or a
 * fragment. A top-level name `mutation` or `subscription` anywhere (also as a type condition or an operation's
 * name, which no NetBox query uses) is refused: over-refusing a strange document is safe, missing a mutation is not.
 */
export function assertQueryOnly(doc: string): void {
  let depth = 0;
  let i = 0;
  while (i < doc.length) {
    const c = doc[i]!;
    if (c === '#') {
      // A comment runs to the end of the line (LineTerminator: \n, \r\n, \r).
      while (i < doc.length && doc[i] !== '\n' && doc[i] !== '\r') i++;
    } else if (c === '"') {
      if (doc.startsWith('"""', i)) {
        // Block string: ends at the first """ not escaped as \""".
        i += 3;
        for (;;) {
          if (i >= doc.length) throw malformed('has an unterminated block string');
          if (doc.startsWith('\\"""', i)) i += 4;
          else if (doc.startsWith('"""', i)) break;
          else i++;
        }
        i += 3;
        continue;
      }
      i++;
      for (;;) {
        if (i >= doc.length || doc[i] === '\n' || doc[i] === '\r') throw malformed('has an unterminated string');
        if (doc[i] === '\\') i += 2;
        else if (doc[i] === '"') break;
        else i++;
      }
    } else if (OPEN.has(c)) {
      depth++;
    } else if (CLOSE.has(c)) {
      if (depth === 0) throw malformed('has an unbalanced bracket');
      depth--;
    } else if (/[_A-Za-z]/.test(c)) {
      let j = i + 1;
      while (j < doc.length && /[_0-9A-Za-z]/.test(doc[j]!)) j++;
      const name = doc.slice(i, j);
      if (depth === 0 && NOT_QUERIES.has(name)) {
        throw new WritegateError('WG_ERR_BAD_REQUEST', `NetBox's GraphQL API is read-only: a ${name} is refused`);
      }
      i = j;
      continue;
    }
    i++;
  }
  if (depth !== 0) throw malformed('has an unbalanced bracket');
}
