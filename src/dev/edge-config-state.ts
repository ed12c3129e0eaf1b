/**
 * The in-memory state behind the local Edge Config stand-in: items, their digest, and the
 * write rules Vercel enforces (key pattern, plan size limit, atomic batch patches).
 * Kept free of HTTP so the server and the programmatic API share one set of rules.
 */
import { createHash } from "node:crypto";
import type { Json } from "../model/json.js";

/** Vercel's Edge Config plan limits on the JSON size of all items, in bytes. */
export const EDGE_CONFIG_SIZE_LIMITS = { hobby: 8 * 1024, pro: 64 * 1024, enterprise: 512 * 1024 } as const;

/** Edge Config keys: Vercel's documented pattern and length limit. */
const KEY_PATTERN = /^[\w-]+$/;
const MAX_KEY_LENGTH = 256;

export type PatchOperation =
  | { operation: "create" | "update" | "upsert"; key: string; value: Json; description?: string }
  | { operation: "delete"; key: string };

export interface ItemRecord {
  value: Json;
  createdAt: number;
  updatedAt: number;
  description?: string;
}

/** A rejected write, carrying the HTTP status and the Vercel-style error code to answer with. */
export class EdgeConfigWriteError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "EdgeConfigWriteError";
    this.status = status;
    this.code = code;
  }
}

function validateKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || !KEY_PATTERN.test(key) || key.length > MAX_KEY_LENGTH) {
    throw new EdgeConfigWriteError(
      400,
      "bad_request",
      `Invalid key ${JSON.stringify(key)}: keys must match ^[\\w-]+$ and be at most ${MAX_KEY_LENGTH} characters`,
    );
  }
}

/** Validates the body of `PATCH /v1/edge-config/:id/items` into operations (400 on any defect). */
export function parsePatchBody(body: unknown): PatchOperation[] {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) {
    throw new EdgeConfigWriteError(400, "bad_request", "Invalid request: `items` must be an array");
  }
  return items.map((raw, index): PatchOperation => {
    const item = raw as Record<string, unknown> | null;
    if (typeof item !== "object" || item === null) {
      throw new EdgeConfigWriteError(
        400,
        "bad_request",
        `Invalid request: items[${index}] must be an object`,
      );
    }
    const { operation, key, value, description } = item;
    validateKey(key);
    if (operation === "delete") return { operation, key };
    if (operation !== "create" && operation !== "update" && operation !== "upsert") {
      throw new EdgeConfigWriteError(
        400,
        "bad_request",
        `Invalid request: items[${index}].operation must be one of create, update, upsert, delete`,
      );
    }
    // `null` is a legal value; a missing value is not (JSON has no undefined).
    if (value === undefined) {
      throw new EdgeConfigWriteError(400, "bad_request", `Invalid request: items[${index}].value is missing`);
    }
    const op: PatchOperation = { operation, key, value: value as Json };
    if (typeof description === "string") op.description = description;
    return op;
  });
}

export class EdgeConfigStore {
  readonly sizeLimitBytes: number;
  #items = new Map<string, ItemRecord>();
  #digest = "";
  #updatedAt = Date.now();

  constructor(sizeLimitBytes: number, initial: Record<string, Json> = {}) {
    this.sizeLimitBytes = sizeLimitBytes;
    this.apply(Object.entries(initial).map(([key, value]) => ({ operation: "upsert", key, value })));
  }

  /** Changes whenever the items change; equal items give equal digests (it is a content hash). */
  get digest(): string {
    return this.#digest;
  }

  get updatedAt(): number {
    return this.#updatedAt;
  }

  get size(): number {
    return this.#items.size;
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  /** A copy, so callers can't mutate stored state behind the digest's back. */
  get(key: string): Json | undefined {
    const record = this.#items.get(key);
    return record === undefined ? undefined : structuredClone(record.value);
  }

  record(key: string): ItemRecord | undefined {
    const record = this.#items.get(key);
    return record === undefined ? undefined : structuredClone(record);
  }

  entries(): Array<[string, ItemRecord]> {
    return [...this.#items].map(([key, record]) => [key, structuredClone(record)]);
  }

  /** All items, or only the listed keys that exist (what `GET /items?key=a&key=b` answers). */
  items(keys?: readonly string[]): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const [key, record] of this.#items) {
      if (keys === undefined || keys.includes(key)) out[key] = structuredClone(record.value);
    }
    return out;
  }

  /** The JSON size of all items, which is what the plan limit is measured against. */
  sizeBytes(items: Map<string, ItemRecord> = this.#items): number {
    const plain: Record<string, Json> = {};
    for (const [key, record] of items) plain[key] = record.value;
    return Buffer.byteLength(JSON.stringify(plain));
  }

  /**
   * Applies a batch atomically, like Vercel: every operation is checked against a copy and the
   * copy replaces the items only if all succeed and the result fits the size limit.
   */
  apply(operations: readonly PatchOperation[]): void {
    const next = new Map(this.#items);
    const now = Date.now();
    for (const op of operations) {
      validateKey(op.key);
      const existing = next.get(op.key);
      if (op.operation === "delete") {
        if (!existing) throw notFound(op.key);
        next.delete(op.key);
        continue;
      }
      if (op.operation === "create" && existing) {
        throw new EdgeConfigWriteError(409, "conflict", `Cannot create item "${op.key}": it already exists`);
      }
      if (op.operation === "update" && !existing) throw notFound(op.key);
      const record: ItemRecord = {
        value: structuredClone(op.value),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      const description = op.description ?? existing?.description;
      if (description !== undefined) record.description = description;
      next.set(op.key, record);
    }
    const size = this.sizeBytes(next);
    if (size > this.sizeLimitBytes) {
      throw new EdgeConfigWriteError(
        400,
        "size_limit_exceeded",
        `Edge Config would be ${size} bytes, over its size limit of ${this.sizeLimitBytes} bytes`,
      );
    }
    this.#items = next;
    this.#updatedAt = now;
    this.#digest = contentDigest(this.items());
  }
}

function notFound(key: string): EdgeConfigWriteError {
  return new EdgeConfigWriteError(404, "not_found", `Item "${key}" does not exist`);
}

function contentDigest(items: Record<string, Json>): string {
  return createHash("sha256").update(stableStringify(items)).digest("hex").slice(0, 32);
}

/** JSON with sorted object keys, so the digest doesn't depend on insertion order. */
function stableStringify(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(value[k] as Json)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
