/**
 * An index of subscriptions by event-type pattern: a four-level trie whose every node has literal children
 * and one `*` child. Finding the matches of an event follows at most 2⁴ = 16 paths, whatever the number of
 * subscriptions, instead of testing every pattern.
 */
import { parseEventType, parsePattern, SEGMENTS, WILDCARD } from "./event-type.ts";

interface TrieNode<T> {
  readonly literal: Map<string, TrieNode<T>>;
  wildcard: TrieNode<T> | undefined;
  /** Items whose pattern ends here (only on the fourth level). */
  readonly items: Map<string, T>;
}

const newNode = <T>(): TrieNode<T> => ({ literal: new Map(), wildcard: undefined, items: new Map() });

export class PatternIndex<T> {
  private readonly root: TrieNode<T> = newNode();
  /** key → the pattern it was added under, so that remove() needs only the key. */
  private readonly patterns = new Map<string, readonly string[]>();

  get size(): number {
    return this.patterns.size;
  }

  /** Adds (or replaces) the item under `key`. Throws EventTypeError on a malformed pattern. */
  add(key: string, pattern: string, item: T): void {
    const segments = parsePattern(pattern);
    this.remove(key);
    let node = this.root;
    for (const segment of segments) {
      if (segment === WILDCARD) node = node.wildcard ??= newNode();
      else {
        let next = node.literal.get(segment);
        if (!next) node.literal.set(segment, (next = newNode()));
        node = next;
      }
    }
    node.items.set(key, item);
    this.patterns.set(key, segments);
  }

  remove(key: string): boolean {
    const segments = this.patterns.get(key);
    if (!segments) return false;
    this.patterns.delete(key);
    const path: Array<[TrieNode<T>, string]> = [];
    let node: TrieNode<T> | undefined = this.root;
    for (const segment of segments) {
      path.push([node, segment]);
      node = segment === WILDCARD ? node.wildcard : node.literal.get(segment);
      if (!node) return true;
    }
    node.items.delete(key);
    // Prune empty nodes so that a churn of subscriptions does not grow the trie.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, segment] = path[i];
      const child = segment === WILDCARD ? parent.wildcard : parent.literal.get(segment);
      if (!child || child.items.size > 0 || child.literal.size > 0 || child.wildcard) break;
      if (segment === WILDCARD) parent.wildcard = undefined;
      else parent.literal.delete(segment);
    }
    return true;
  }

  /** Items whose pattern matches the event type; throws EventTypeError on a malformed type. */
  match(eventType: string): T[] {
    const segments = parseEventType(eventType);
    const found: T[] = [];
    const visit = (node: TrieNode<T>, depth: number): void => {
      if (depth === SEGMENTS) {
        for (const item of node.items.values()) found.push(item);
        return;
      }
      const literal = node.literal.get(segments[depth]);
      if (literal) visit(literal, depth + 1);
      if (node.wildcard) visit(node.wildcard, depth + 1);
    };
    visit(this.root, 0);
    return found;
  }
}
