/**
 * Editing an incident's narrative and decisions (docs/report.md, the narrative and decisions):
 * `incident set`, `incident decide`, `incident notified` and `incident sign-off`. Every edit is a
 * compare-and-set on the record's `revision`, so two responders never overwrite each other unseen.
 *
 * Versions: a record is version 1 until someone signs it off. An edit after a sign-off starts the
 * next version, which names the one it replaces (`replaces: "<version>:<sha256>"`); the sign-off
 * keeps the exact content it signed, so the old signature still verifies and the change is visible.
 */
import { parseDuration } from "../core/duration.js";
import { sha256Hex } from "../core/hash.js";
import { canonicalJson } from "./audit/canonical.js";
import type { Signer } from "./audit/sign.js";
import {
  DATA_CLASS,
  fromHash,
  type IncidentContext,
  incidentKeys,
  invalid,
  readHash,
  toHash,
  unknownIncident,
} from "./incident-records.js";
import { GDPR_ROLES, type GdprRole, HIPAA_ROLES, type HipaaRole, isoSeconds } from "./report/clocks.js";
import type { IncidentRecord } from "./report/model.js";
import {
  NARRATIVE_FIELDS,
  type NarrativeText,
  type NoticeEntry,
  type NotificationDecision,
  REGIMES,
  type SignOff,
} from "./report/narrative.js";

/** What `incident set` (flags or `--from FILE`) may change. */
export interface IncidentEdit extends NarrativeText {
  title?: string | undefined;
  discovered?: number | undefined;
  discoveryReason?: string | undefined;
  dataClasses?: string[] | undefined;
  hipaaRole?: HipaaRole | undefined;
  gdprRole?: GdprRole | undefined;
  baaTerm?: string | undefined;
  dpaTerm?: string | undefined;
  individuals?: number | undefined;
  individualsBasis?: string | undefined;
  records?: number | undefined;
  recordsBasis?: string | undefined;
  maxStateResidents?: number | undefined;
}

/** Every key `incident set --from FILE` accepts, with the flag that sets it. */
export const EDIT_KEYS: Readonly<Record<keyof IncidentEdit, string>> = {
  title: "--title",
  discovered: "--discovered",
  discoveryReason: "--discovery-reason",
  dataClasses: "--data",
  hipaaRole: "--hipaa-role",
  gdprRole: "--gdpr-role",
  baaTerm: "--baa-term",
  dpaTerm: "--dpa-term",
  individuals: "--individuals",
  individualsBasis: "--individuals-basis",
  records: "--records",
  recordsBasis: "--records-basis",
  maxStateResidents: "--max-state-residents",
  ...(Object.fromEntries(NARRATIVE_FIELDS.map((f) => [f.key, f.flag])) as Record<
    keyof NarrativeText,
    string
  >),
};

const MAX_TEXT = 4000;
const SHORT_TEXT = 200;

function text(name: string, value: unknown, max: number): void {
  if (typeof value !== "string" || value.trim() === "" || value.length > max)
    throw invalid(`${name} must be text of 1-${max} characters`);
}

function whole(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 1e12)
    throw invalid(`${name} must be a whole number`);
}

/**
 * Checks an edit; `name` says how to call a key in a message (a flag, or a JSON path for a file).
 * @example checkEdit({ summary: "" }, Date.now(), (k) => EDIT_KEYS[k]) // throws "--summary must be text…"
 */
export function checkEdit(edit: IncidentEdit, now: number, name: (key: keyof IncidentEdit) => string): void {
  for (const key of Object.keys(edit) as Array<keyof IncidentEdit>) {
    const value = edit[key];
    if (value === undefined) continue;
    if (!(key in EDIT_KEYS)) throw invalid(`${name(key)} is not a field of an incident`);
    const n = name(key);
    if (key === "title") text(n, value, SHORT_TEXT);
    else if (key === "discovered") {
      if (typeof value !== "number" || !Number.isFinite(value) || value > now + 60_000)
        throw invalid(`${n} must be a time in the past, like 2026-12-01T21:40:00Z`);
    } else if (key === "dataClasses") {
      if (!Array.isArray(value) || value.some((c) => typeof c !== "string" || !DATA_CLASS.test(c)))
        throw invalid(`${n} must be data classes of lower-case letters, digits or -, like phi,pii`);
    } else if (key === "hipaaRole") {
      if (!HIPAA_ROLES.includes(value as HipaaRole))
        throw invalid(`${n} must be one of ${HIPAA_ROLES.join(", ")}`);
    } else if (key === "gdprRole") {
      if (!GDPR_ROLES.includes(value as GdprRole))
        throw invalid(`${n} must be one of ${GDPR_ROLES.join(", ")}`);
    } else if (key === "baaTerm" || key === "dpaTerm") {
      if (typeof value !== "string" || parseDuration(value) === undefined)
        throw invalid(`${n} must be a duration like 24h or 10d`);
    } else if (key === "individuals" || key === "records" || key === "maxStateResidents") whole(n, value);
    else text(n, value, MAX_TEXT);
  }
  if (edit.discovered !== undefined && edit.discoveryReason === undefined)
    throw invalid(
      `${name("discovered")} needs ${name("discoveryReason")}: the discovery time is a decision, recorded with who made it and why`,
    );
}

/** The content a sign-off signs: the whole record but its closing, sign-offs and edit counter. */
export function signedContent(incident: IncidentRecord): string {
  const { closed: _c, closedBy: _cb, signoffs: _s, revision: _r, ...content } = incident;
  return canonicalJson(content);
}

/** What a sign-off's JWS signs (canonical JSON): evidence verify rebuilds it from the sign-off. */
export function signOffPayload(incidentId: string, s: Omit<SignOff, "jws" | "content" | "kid">): string {
  return canonicalJson({
    type: "edge-containment-signoff",
    incident: incidentId,
    version: s.version,
    sha256: s.sha256,
    approver: s.approver,
    role: s.role,
    signedAt: isoSeconds(s.signedAt),
  });
}

/** Writes the fields only if nobody edited the record since it was read (`revision`). */
const CAS_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local current = redis.call('HGET', KEYS[1], 'revision')
if not current then current = '0' end
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
`;

async function read(ctx: IncidentContext, id: string): Promise<IncidentRecord> {
  const incident = fromHash(await readHash(ctx, incidentKeys.incident(id)));
  if (!incident) throw unknownIncident(id);
  return incident;
}

/**
 * Reads the record, applies `change`, and writes it back unless someone edited it meanwhile (then
 * reads again, up to three times). A change to a signed-off version starts the next version.
 */
async function mutate(
  ctx: IncidentContext,
  id: string,
  change: (incident: IncidentRecord) => Partial<IncidentRecord>,
  options: { newVersion: boolean } = { newVersion: true },
): Promise<IncidentRecord> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const incident = await read(ctx, id);
    const patch = change(incident);
    const version = incident.version ?? 1;
    const signed = (incident.signoffs ?? []).find((s) => s.version === version);
    const next: IncidentRecord = { ...incident, ...patch, revision: (incident.revision ?? 0) + 1 };
    if (options.newVersion && signed !== undefined) {
      next.version = version + 1;
      next.replaces = `${version}:${signed.sha256}`;
    }
    const fields = toHash(next);
    const written = Number(
      await ctx.client.eval(
        CAS_SCRIPT,
        [ctx.prefix + incidentKeys.incident(id)],
        [String(incident.revision ?? 0), ...Object.entries(fields).flat()],
      ),
    );
    if (written === -1) throw unknownIncident(id);
    if (written === 1) return next;
  }
  throw invalid(`incident ${id} is being edited by someone else right now: run the command again`);
}

/** @example await editIncident(ctx, "INC-1", { summary: "Exports of acme leaked" }, "alice") */
export function editIncident(
  ctx: IncidentContext,
  id: string,
  edit: IncidentEdit,
  actor: string,
): Promise<IncidentRecord> {
  const now = (ctx.now ?? Date.now)();
  checkEdit(edit, now, (key) => EDIT_KEYS[key]);
  const patch = Object.fromEntries(
    Object.entries(edit)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, typeof v === "string" ? v.trim() : v]),
  ) as Partial<IncidentRecord>;
  if (edit.discovered !== undefined) patch.discovered = Math.floor(edit.discovered);
  if (edit.discoveryReason !== undefined) patch.discoveredBy = actor;
  if (Object.keys(patch).length === 0)
    throw invalid("nothing to set: give at least one field (see `containment incident set --help`)");
  return mutate(ctx, id, () => patch);
}

export function decideNotification(
  ctx: IncidentContext,
  id: string,
  decision: NotificationDecision,
): Promise<IncidentRecord> {
  if (!REGIMES.includes(decision.regime)) throw invalid(`--regime must be one of ${REGIMES.join(", ")}`);
  text("--reason", decision.reason, MAX_TEXT);
  return mutate(ctx, id, (incident) => ({ decisions: [...(incident.decisions ?? []), decision] }));
}

export function logNotice(ctx: IncidentContext, id: string, notice: NoticeEntry): Promise<IncidentRecord> {
  text("--to", notice.to, SHORT_TEXT);
  text("--via", notice.via, SHORT_TEXT);
  if (notice.note !== undefined) text("--note", notice.note, MAX_TEXT);
  if (!Number.isFinite(notice.at) || notice.at > (ctx.now ?? Date.now)() + 60_000)
    throw invalid("--at must be a time in the past, like 2026-12-01T21:40:00Z");
  return mutate(ctx, id, (incident) => ({ notices: [...(incident.notices ?? []), notice] }));
}

/**
 * Signs the record's current version with the responder's key. Refuses a second sign-off of the
 * same version by the same approver (it would say nothing new).
 */
export async function signOffIncident(
  ctx: IncidentContext,
  id: string,
  signer: Signer,
  who: { approver: string; role: string },
): Promise<{ incident: IncidentRecord; signoff: SignOff }> {
  text("--role", who.role, SHORT_TEXT);
  const current = await read(ctx, id);
  const content = signedContent(current);
  const sha256 = await sha256Hex(content);
  const version = current.version ?? 1;
  if ((current.signoffs ?? []).some((s) => s.version === version && s.approver === who.approver))
    throw invalid(`${who.approver} signed off version ${version} of ${id} already`);
  const signedAt = Math.floor((ctx.now ?? Date.now)() / 1000) * 1000;
  const base = { version, sha256, approver: who.approver, role: who.role, signedAt };
  const jws = await signer.sign(signOffPayload(id, base));
  const publicJwk = signer.publicJwk as SignOff["publicJwk"];
  const signoff: SignOff = { ...base, kid: signer.kid, jws, content, ...(publicJwk ? { publicJwk } : {}) };
  const incident = await mutate(
    ctx,
    id,
    (now) => {
      // Signed what was read: an edit in between means this signature is over another version.
      if (signedContent(now) !== content)
        throw invalid(`incident ${id} changed while it was being signed: run the command again`);
      return { signoffs: [...(now.signoffs ?? []), signoff] };
    },
    { newVersion: false },
  );
  return { incident, signoff };
}
