// Validation rules that refuse expensive documents before anything runs: nesting depth, and the
// number of selected fields and aliases counted after expanding fragments (so a small document
// that spreads fragments many times cannot ask for a huge amount of work).
import {
  GraphQLError,
  Kind,
  Lexer,
  Source,
  TokenKind,
  type ASTNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

export type QueryLimitCode = 'QUERY_TOO_DEEP' | 'QUERY_TOO_COMPLEX';

export class QueryLimitError extends GraphQLError {
  constructor(
    readonly code: QueryLimitCode,
    message: string,
    node?: ASTNode,
  ) {
    super(message, { nodes: node ? [node] : undefined, extensions: { code } });
  }
}

export interface QueryLimits {
  maxDepth: number;
  /** Fields plus fragment spreads, after expansion. */
  maxFields: number;
  maxAliases: number;
}

function check(operation: OperationDefinitionNode, context: ValidationContext, limits: QueryLimits): void {
  let selections = 0;
  let aliases = 0;
  const fragmentPath: string[] = [];
  const name = operation.name ? `operation ${operation.name.value}` : 'the operation';

  const visit = (selectionSet: SelectionSetNode, depth: number): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, depth);
        continue;
      }
      if (++selections > limits.maxFields) {
        throw new QueryLimitError('QUERY_TOO_COMPLEX', `${name} selects more than ${limits.maxFields} fields (fragments expanded)`, selection);
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragmentName = selection.name.value;
        const fragment = context.getFragment(fragmentName);
        // Unknown and cyclic fragments are reported by the standard rules; skipping them here keeps this walk finite.
        if (!fragment || fragmentPath.includes(fragmentName)) continue;
        fragmentPath.push(fragmentName);
        visit(fragment.selectionSet, depth);
        fragmentPath.pop();
        continue;
      }
      if (selection.alias && ++aliases > limits.maxAliases) {
        throw new QueryLimitError('QUERY_TOO_COMPLEX', `${name} uses more than ${limits.maxAliases} aliases`, selection);
      }
      if (depth > limits.maxDepth) {
        throw new QueryLimitError('QUERY_TOO_DEEP', `${name} nests fields deeper than ${limits.maxDepth} levels`, selection);
      }
      if (selection.selectionSet) visit(selection.selectionSet, depth + 1);
    }
  };

  try {
    visit(operation.selectionSet, 1);
  } catch (error) {
    if (!(error instanceof QueryLimitError)) throw error;
    context.reportError(error);
  }
}

export function queryLimitRule(limits: QueryLimits): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      check(operation, context, limits);
      // The operation was measured as a whole; its nodes need no further visits from this rule.
      return false;
    },
  });
}

const OPENING = new Set<string>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSING = new Set<string>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * Refuses a document whose brackets ({ [ and parentheses) nest deeper than a field depth of
 * `maxDepth` can need (each level of fields may add its arguments and an input value or two).
 * The parser recurses once per level and overflows its call stack a few thousand levels down (over
 * WebSocket that dropped the connection); the lexer does not recurse, so this runs before parsing.
 * Returns null when the nesting is fine or the text does not lex (the parser then reports that).
 */
export function documentNestingError(source: string, maxDepth: number): QueryLimitError | null {
  const allowed = 2 * maxDepth + 8;
  const lexer = new Lexer(new Source(source));
  let depth = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (OPENING.has(token.kind) && ++depth > allowed) {
        return new QueryLimitError('QUERY_TOO_DEEP', `the document nests brackets deeper than ${allowed} levels (fields may nest ${maxDepth} deep)`);
      }
      if (CLOSING.has(token.kind)) depth--;
    }
  } catch {
    return null;
  }
  return null;
}
