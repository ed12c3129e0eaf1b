import type { PatternSegment } from "./pattern.js";

/**
 * A route trie over every pattern of every rule. Lookup walks the path's segments once, following at
 * most the literal child and the wildcard child at each level, so its cost depends on the path and
 * the patterns' shapes, not on how many rules there are. Param and `*` share one wildcard child;
 * which parameter names a rule captured is kept on its entry.
 */
export interface TrieEntry<T> {
  readonly value: T;
  readonly pattern: string;
  /** `[segment index, parameter name]` pairs to capture when this entry matches. */
  readonly params: ReadonlyArray<readonly [number, string]>;
}

interface TrieNode<T> {
  literal: Map<string, TrieNode<T>> | undefined;
  wildcard: TrieNode<T> | undefined;
  /** Entries whose pattern ends here. */
  exact: TrieEntry<T>[];
  /** Entries whose pattern ends with `**` here: they match this node and everything below. */
  rest: TrieEntry<T>[];
}

function node<T>(): TrieNode<T> {
  return { literal: undefined, wildcard: undefined, exact: [], rest: [] };
}

export interface TrieMatch<T> {
  entry: TrieEntry<T>;
  /** Index of the path candidate that matched. */
  candidate: number;
}

export class RouteTrie<T> {
  private readonly root: TrieNode<T> = node();

  insert(pattern: string, segments: readonly PatternSegment[], value: T): void {
    let current = this.root;
    const params: Array<readonly [number, string]> = [];
    for (const [index, segment] of segments.entries()) {
      if (segment.type === "rest") {
        current.rest.push({ value, pattern, params });
        return;
      }
      if (segment.type === "literal") {
        current.literal ??= new Map();
        let next = current.literal.get(segment.value);
        if (!next) {
          next = node();
          current.literal.set(segment.value, next);
        }
        current = next;
      } else {
        if (segment.type === "param") params.push([index, segment.name]);
        current.wildcard ??= node();
        current = current.wildcard;
      }
    }
    current.exact.push({ value, pattern, params });
  }

  /**
   * Every entry matching the lower-cased segments, in walk order; `out` is appended to (no per-call
   * allocation of results). `accept` drops entries before a match record is made for them: the
   * caller's cheap filters (a rule's methods) run here, so rules scoped to other methods on a
   * shared route cost a check, not an allocation.
   */
  collect(
    lower: readonly string[],
    candidate: number,
    out: TrieMatch<T>[],
    accept?: (value: T) => boolean,
  ): void {
    this.walk(this.root, lower, 0, candidate, out, accept);
  }

  private walk(
    at: TrieNode<T>,
    lower: readonly string[],
    depth: number,
    candidate: number,
    out: TrieMatch<T>[],
    accept: ((value: T) => boolean) | undefined,
  ): void {
    for (const entry of at.rest) if (!accept || accept(entry.value)) out.push({ entry, candidate });
    if (depth === lower.length) {
      for (const entry of at.exact) if (!accept || accept(entry.value)) out.push({ entry, candidate });
      return;
    }
    const segment = lower[depth] as string;
    const literal = at.literal?.get(segment);
    if (literal) this.walk(literal, lower, depth + 1, candidate, out, accept);
    if (at.wildcard) this.walk(at.wildcard, lower, depth + 1, candidate, out, accept);
  }
}
