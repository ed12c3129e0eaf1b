/**
 * A minute of `shapes` (format 2) or, for minutes written before it, of `traffic` (format 1), as
 * rows the exposure of any pattern is evaluated on (src/ops/exposure.ts, docs/recorded-format.md).
 * Format 1 rows carry the deciding rule's pattern in `shape` and no host.
 */
import {
  ANY_HOST,
  NO_TENANT_FIELD,
  parseShapeField,
  SHAPE_OTHER,
  TRAFFIC_OVERFLOW,
  UNDECLARED_TENANT,
} from "./layout.js";

export interface ShapeRow {
  minute: number;
  /** The request's host, or `*` when none was recorded. */
  host: string;
  /** Route shape (`:id` for identifier-like segments), `~other` / `~overflow-reserved` when folded. */
  shape: string;
  method: string;
  /** A tenant the document declared, or `~undeclared`. */
  tenant: string;
  outcome: string;
  n: number;
  /** 2: a route shape; 1: the pattern of the rule that matched (a minute written before format 2). */
  format: 1 | 2;
}

/** Rows of one minute: its `shapes` hash when it has one, else its format-1 `traffic` hash. */
export function shapeRowsOf(
  minute: number,
  shapes: Readonly<Record<string, number>>,
  traffic: Readonly<Record<string, number>>,
): ShapeRow[] {
  const rows: ShapeRow[] = [];
  const shaped = Object.entries(shapes);
  if (shaped.length > 0) {
    for (const [field, n] of shaped) {
      const parts = parseShapeField(field);
      if (parts) rows.push({ minute, ...parts, n, format: 2 });
    }
    return rows;
  }
  for (const [field, n] of Object.entries(traffic)) {
    if (field === TRAFFIC_OVERFLOW) {
      rows.push(folded(minute, n));
      continue;
    }
    // Split from the right: a format-1 route may hold `|` (written as `_` since, but not always).
    const parts = field.split("|");
    if (parts.length < 4) continue;
    const outcome = parts.pop() as string;
    const tenant = parts.pop() as string;
    const method = parts.pop() as string;
    rows.push({
      minute,
      host: ANY_HOST,
      shape: parts.join("|"),
      method,
      tenant: tenant === NO_TENANT_FIELD || tenant === "" ? UNDECLARED_TENANT : tenant,
      outcome,
      n,
      format: 1,
    });
  }
  return rows;
}

function folded(minute: number, n: number): ShapeRow {
  return {
    minute,
    host: ANY_HOST,
    shape: SHAPE_OTHER,
    method: "*",
    tenant: UNDECLARED_TENANT,
    outcome: "*",
    n,
    format: 1,
  };
}
