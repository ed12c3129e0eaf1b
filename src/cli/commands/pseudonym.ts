import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { readDevFile } from "../../ops/config-files.js";
import { OpsError, usageError } from "../../ops/errors.js";
import { PSEUDONYM_KINDS, type PseudonymKind, resolvePseudonym } from "../../ops/pseudonyms.js";
import { emit, type GlobalFlags, report } from "../ops.js";

interface ResolveFlags extends GlobalFlags {
  kind: PseudonymKind;
  from?: string;
  keyEnv: string;
  ipv4Prefix?: string;
  ipv6Prefix?: string;
}

function candidatesOf(values: readonly string[], file: string | undefined): string[] {
  if (file === undefined) return [...values];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw usageError(`cannot read the candidates file ${file}`);
  }
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  return [...values, ...lines.filter((line) => line !== "" && !line.startsWith("#"))];
}

function prefixOf(text: string | undefined, max: number, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw usageError(`${flag} must be a whole number from 0 to ${max}`);
  return n;
}

function resolveCommand(): Command {
  const command = new Command("resolve")
    .description(
      "whether a pseudonym you hold is the keyed pseudonym of a value you suspect (reads nothing but the key)",
    )
    .argument("<pseudonym>", "16 hex digits, as quarantine ids, events and detections print them")
    .argument("[candidates...]", "values you suspect (a tenant id, a user id, an address)")
    .addOption(
      new Option("--kind <kind>", "what the pseudonym stands for").choices(PSEUDONYM_KINDS).default("tenant"),
    )
    .option("--from <file>", "more candidates, one a line (# comments and blank lines skipped)")
    .option("--key-env <name>", "environment variable holding the pseudonym key", "CONTAINMENT_SALT")
    .option("--ipv4-prefix <n>", "the deployment's identity.ipv4Prefix, for --kind ip (default 32)")
    .option("--ipv6-prefix <n>", "the deployment's identity.ipv6Prefix, for --kind ip (default 64)")
    .option("--local", "use the pseudonym key of a running `containment dev` (.containment/dev.json here)")
    .option("--json", "print one machine-readable JSON object")
    .addHelpText(
      "after",
      "\nExit: 0 when a candidate matches, 12 when none does.\n\nExample:\n  $ export CONTAINMENT_SALT=…   # the deployment's pseudonym key\n  $ containment pseudonym resolve 1f2e3d4c5b6a7980 acme globex\n  $ containment pseudonym resolve 0a1b2c3d4e5f6789 --kind user --from suspects.txt",
    );
  // Reads nothing but the key and the candidates: no ops context to open, so errors are reported here.
  return command.action(async (pseudonym: string, values: string[]) => {
    const flags = command.opts() as ResolveFlags;
    try {
      const key = flags.local
        ? (process.env[flags.keyEnv] ?? readDevFile(process.cwd()).pseudonymKey)
        : process.env[flags.keyEnv];
      const ipv4Prefix = prefixOf(flags.ipv4Prefix, 32, "--ipv4-prefix");
      const ipv6Prefix = prefixOf(flags.ipv6Prefix, 128, "--ipv6-prefix");
      const result = await resolvePseudonym({
        key,
        keySource: flags.keyEnv,
        kind: flags.kind,
        pseudonym,
        candidates: candidatesOf(values, flags.from),
        ...(ipv4Prefix === undefined ? {} : { ipv4Prefix }),
        ...(ipv6Prefix === undefined ? {} : { ipv6Prefix }),
      });
      if (result.match === undefined)
        throw new OpsError(
          "ERR_NOT_FOUND",
          `${result.pseudonym} is the ${result.kind} pseudonym of none of the ${result.checked} candidate(s)`,
          { pseudonym: result.pseudonym, kind: result.kind, checked: result.checked },
        );
      emit(flags, { ...result }, [
        `${result.pseudonym} is the ${result.kind} pseudonym of ${JSON.stringify(result.match)}`,
      ]);
    } catch (error) {
      report(flags, error);
    }
  });
}

export function pseudonymCommand(): Command {
  return new Command("pseudonym")
    .description("the keyed pseudonyms Redis holds instead of tenants, users and addresses: resolve")
    .addHelpText("after", "\nExample:\n  $ containment pseudonym resolve 1f2e3d4c5b6a7980 acme globex")
    .addCommand(resolveCommand());
}
