import * as v from "valibot";
import { DURATION_PATTERN } from "../core/duration.js";
import { parseCidr } from "../core/ip.js";
import { parsePattern } from "./pattern.js";

/*
 * Schema pieces every rule kind shares. The schema is defined once, here and in the rule-kind
 * files; `rules/schema.json` is generated from it (`npm run schema`).
 */

export const RULE_ID = v.pipe(
  v.string(),
  v.regex(
    /^[A-Za-z0-9][\w-]{0,63}$/,
    "must be 1-64 letters, digits, _ or -, starting with a letter or digit",
  ),
);

export const PATH_PATTERN = v.pipe(
  v.string(),
  v.maxLength(512, "must be at most 512 characters"),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const parsed = parsePattern(dataset.value);
    if (typeof parsed === "string") addIssue({ message: `path pattern ${parsed}` });
  }),
  v.description(
    "Path pattern: literal segments, :name (one segment, captured), * (one segment), ** (the rest).",
  ),
);

export const METHOD = v.pipe(
  v.string(),
  v.regex(/^[A-Z]{1,20}$/, "must be an upper-case HTTP method like GET"),
);

/** A header name as HTTP defines it (RFC 9110 token), lower case: the headers rule, CORS lists, tenancy. */
export const HEADER_NAME = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "must be a lower-case header name"),
);

/**
 * A serialized browser origin (scheme, host, optional port; no path or trailing slash), optionally
 * with `{tenant}` as the first host label. Used for the document's `tenants[id].origins` and a
 * tenant-binding rule's `origins` alike: origins are compared as whole strings, so both must refuse
 * what a browser never sends, such as a default port (`https://app.example.com:443`).
 */
export const ORIGIN = v.pipe(
  v.string(),
  v.regex(
    /^https?:\/\/((\{tenant\}|[a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(:\d{1,5})?$/,
    "must be a serialized origin like https://app.example.com or https://{tenant}.example.com (lower case, no path or trailing slash)",
  ),
  v.check(
    (text) => !/^https:\/\/.*:443$/.test(text) && !/^http:\/\/.*:80$/.test(text),
    "must leave out the default port (browsers never send it)",
  ),
);
const HOST = v.pipe(
  v.string(),
  v.regex(
    /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
    "must be a lower-case host name, optionally starting with *.",
  ),
);
export const TENANT_ID = v.pipe(
  v.string(),
  v.regex(/^[\w.-]{1,128}$/, "must be 1-128 letters, digits, _, . or -"),
);

/** The name of an environment variable holding a secret: secrets never live in the rules document. */
export const ENV_NAME = v.pipe(
  v.string(),
  v.regex(/^[A-Z_][A-Z0-9_]{0,127}$/, "must be an environment variable name"),
);

export const DURATION = v.pipe(
  v.string(),
  v.regex(DURATION_PATTERN, "must be a duration like 500ms, 10s, 1m, 2h or 1d"),
);

export const CIDR = v.pipe(
  v.string(),
  v.check((text) => parseCidr(text) !== undefined, "must be an IP address or CIDR like 203.0.113.0/24"),
);

export const MATCH = v.strictObject({
  path: v.union(
    [
      PATH_PATTERN,
      v.pipe(v.array(PATH_PATTERN), v.minLength(1, "must list at least one pattern"), v.maxLength(32)),
    ],
    "must be a path pattern or a list of them",
  ),
  methods: v.optional(
    v.pipe(v.array(METHOD), v.minLength(1, "must list at least one method, or be left out")),
  ),
  hosts: v.optional(v.pipe(v.array(HOST), v.minLength(1, "must list at least one host, or be left out"))),
  tenants: v.optional(
    v.pipe(v.array(TENANT_ID), v.minLength(1, "must list at least one tenant, or be left out")),
  ),
});
export type MatchSpec = v.InferOutput<typeof MATCH>;

/** A kind of data a route serves (`phi`, `pii`, `payment`…): reports say which kinds traffic touched. */
export const DATA_CLASS = v.pipe(
  v.string(),
  v.regex(
    /^[a-z][a-z0-9-]{0,31}$/,
    "must be 1-32 lower-case letters, digits or -, starting with a letter, like phi",
  ),
);

export const DATA_CLASSES = v.pipe(
  v.array(DATA_CLASS),
  v.minLength(1, "must list at least one data class, or be left out"),
  v.maxLength(16, "must list at most 16 data classes"),
  v.description(
    'Kinds of data the matched routes serve, e.g. ["phi"] or ["pii", "payment"]; used by the incident report.',
  ),
);

export const RULE_MODE = v.picklist(["enforce", "monitor"], 'must be "enforce" or "monitor"');

export const FAIL_MODE = v.picklist(["open", "closed"], 'must be "open" or "closed"');

export const TIMEOUT_MS = v.pipe(
  v.number(),
  v.integer("must be a whole number"),
  v.minValue(1),
  v.maxValue(10_000),
);
