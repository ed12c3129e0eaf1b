/**
 * The Edge Config items the firewall reads and the responder writes, once (docs/contracts.md).
 * Items, not one document, so two responders flipping different switches never overwrite each other.
 */

/** The rules document. */
export const RULES_ITEM = "containment";

/** Each kill switch is its own item, `containment_kill_<id>`. */
export const KILL_SWITCH_PREFIX = "containment_kill_";

/**
 * A switch's revision marker, `containment_rev_<id>_<n>`: every responder write of switch `<id>`
 * creates marker n+1 and deletes marker n in the same PATCH. Vercel's `create` fails on an existing
 * key, so of two writes made against the same read only the first lands (docs/runbook.md, "Two
 * responders at once"). The firewall never reads these.
 */
export const SWITCH_REVISION_PREFIX = "containment_rev_";

/** The fast lane's public key (Ed25519 JWK): only a responder with Edge Config rights can change it. */
export const FASTLANE_KEY_ITEM = "containment_fastlane_key";

/** The audit chain's anchor, `{seq, hash}`: a head the edge's Redis credential cannot rewrite. */
export const AUDIT_ANCHOR_ITEM = "containment_audit_head";

/**
 * The description `containment dev` gives the rules item it writes from its rules file: the file and
 * the digest of what it wrote (`rulesetDigest` of the document alone). `containment status --local`
 * reads it to tell the dev server's own writes from a change made outside containment
 * (docs/cli.md, `status`); a description whose digest does not match the value is not believed.
 */
export function devRulesDescription(file: string, digest: string): string {
  return `${DEV_RULES_MARK}${file} (digest ${digest})`;
}

const DEV_RULES_MARK = "containment dev: from the rules file ";

/** The file and digest of a `devRulesDescription`, or undefined for any other description. */
export function parseDevRulesDescription(
  description: string | undefined,
): { file: string; digest: string } | undefined {
  if (description === undefined || !description.startsWith(DEV_RULES_MARK)) return undefined;
  const match = /^(.+) \(digest ([0-9a-f]{16})\)$/.exec(description.slice(DEV_RULES_MARK.length));
  return match ? { file: match[1] as string, digest: match[2] as string } : undefined;
}

/** The item key of kill switch `id`. */
export function killSwitchItem(id: string): string {
  return KILL_SWITCH_PREFIX + id;
}

/** The revision marker `n` of switch `id`. */
export function switchRevisionItem(id: string, n: number): string {
  return `${SWITCH_REVISION_PREFIX}${id}_${n}`;
}

/** The kill-switch id an item key names, or undefined when the key is not a kill switch's. */
export function killSwitchIdOf(key: string): string | undefined {
  return key.startsWith(KILL_SWITCH_PREFIX) ? key.slice(KILL_SWITCH_PREFIX.length) : undefined;
}

/**
 * The Edge Config id from a connection string: `https://edge-config.vercel.com/ecfg_…?token=…`
 * (or the local stand-in's `http://127.0.0.1:PORT/ecfg_…?token=…`). The CLI's store id, and the
 * edge's default fast-lane audience.
 */
export function edgeConfigIdFromConnection(connection: string): string | undefined {
  try {
    const segment = new URL(connection).pathname.split("/").find((part) => part.startsWith("ecfg_"));
    return segment;
  } catch {
    return undefined;
  }
}
