/**
 * docs/cli.md from the CLI's own commander definitions: every command and subcommand with its
 * description, usage, arguments, options (with defaults and choices) and the example its `--help`
 * prints, then the exit codes. Options that many commands share (where the store and Redis are,
 * `--wait`) are listed once and referred to, as `shared` says.
 */
import type { EventEmitter } from "node:events";
import { type Argument, type Command, Help, type Option } from "commander";
import type { ExitCodeRow } from "./exit-codes.js";
import { code, markdownText } from "./markdown-text.js";
import { githubSlug } from "./slug.js";

/** A set of options added to many commands by one function (e.g. `withOpsOptions`). */
export interface SharedOptions {
  /** Heading of its section, e.g. "Responder options". */
  title: string;
  /** One paragraph under the heading (Markdown). */
  intro: string;
  options: readonly Option[];
}

export interface CliReferenceInput {
  program: Command;
  shared: readonly SharedOptions[];
  exitCodes: readonly ExitCodeRow[];
  /** Markdown before the contents: the title, what the page is for, its neighbours. */
  preamble: string;
}

const help = new Help();

/** `containment rules push`: the names from the program down to the command. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** The subcommands a user can run (not commander's implicit `help` command, nor hidden ones). */
export function subcommandsOf(command: Command): Command[] {
  return help.visibleCommands(command).filter((sub) => command.commands.includes(sub));
}

/** The command and every command below it, depth first, in the order they were registered. */
export function allCommands(command: Command): Command[] {
  return [command, ...subcommandsOf(command).flatMap(allCommands)];
}

/**
 * What `--help` prints after the option list (`addHelpText("after", …)`): the command's example.
 * Commander keeps that text in an `afterHelp` listener (a Command is an EventEmitter at run time,
 * though its types do not say so); emitting the event with our own `write` collects it.
 */
function afterHelp(command: Command): string {
  let text = "";
  const events = command as unknown as EventEmitter;
  events.emit("afterHelp", { error: false, command, write: (chunk: string) => (text += chunk) });
  return text.replace(/^\n+/, "").trimEnd();
}

const sameOption = (a: Option, b: Option): boolean => a.flags === b.flags && a.description === b.description;

/** The shared sets this command has in full, and its options that are not part of one. */
function splitOptions(command: Command, shared: readonly SharedOptions[]) {
  const own = help.visibleOptions(command).filter((o) => o.long !== "--help");
  const taken = shared.filter((set) => set.options.every((o) => own.some((mine) => sameOption(o, mine))));
  const inTaken = (o: Option) => taken.some((set) => set.options.some((s) => sameOption(s, o)));
  return { taken, own: own.filter((o) => !inTaken(o)) };
}

function defaultOf(option: Option): string {
  if (option.defaultValue === undefined) return "";
  return code(option.defaultValueDescription ?? String(option.defaultValue));
}

function optionRow(option: Option): string {
  const notes = [
    ...(option.mandatory ? ["required"] : []),
    ...(option.argChoices ? [`one of ${option.argChoices.map(code).join(", ")}`] : []),
  ];
  const description = [
    markdownText(option.description),
    ...(notes.length > 0 ? [`(${notes.join("; ")})`] : []),
  ]
    .filter((s) => s !== "")
    .join(" ");
  return `| ${code(option.flags)} | ${description} | ${defaultOf(option)} |`;
}

function optionTable(options: readonly Option[]): string[] {
  if (options.length === 0) return [];
  return ["| option | what it does | default |", "|---|---|---|", ...options.map(optionRow)];
}

function argumentName(argument: Argument): string {
  const name = `${argument.name()}${argument.variadic ? "..." : ""}`;
  return argument.required ? `<${name}>` : `[${name}]`;
}

function argumentTable(command: Command): string[] {
  const args = command.registeredArguments;
  if (args.length === 0) return [];
  return [
    "| argument | what it is |",
    "|---|---|",
    ...args.map((a) => `| ${code(argumentName(a))} | ${markdownText(a.description)} |`),
  ];
}

function paragraphs(...blocks: string[][]): string[] {
  return blocks.filter((b) => b.length > 0).flatMap((b) => [...b, ""]);
}

function commandSection(command: Command, depth: number, shared: readonly SharedOptions[]): string[] {
  const { taken, own } = splitOptions(command, shared);
  const subs = subcommandsOf(command);
  const example = afterHelp(command);
  const sharedLine = taken.map((set) => `[${set.title.toLowerCase()}](#${githubSlug(set.title)})`);
  return paragraphs(
    [`${"#".repeat(depth)} ${commandPath(command)}`],
    [markdownText(help.commandDescription(command))],
    ["```text", help.commandUsage(command), "```"],
    argumentTable(command),
    optionTable(own),
    sharedLine.length > 0 ? [`Also takes the ${sharedLine.join(" and the ")}.`] : [],
    subs.length > 0
      ? [
          "| subcommand | what it does |",
          "|---|---|",
          ...subs.map(
            (s) =>
              `| [${commandPath(s)}](#${githubSlug(commandPath(s))}) | ${markdownText(help.subcommandDescription(s))} |`,
          ),
        ]
      : [],
    example === "" ? [] : ["```text", example, "```"],
  );
}

/** A command's section, then its subcommands' one heading level down (GitHub stops at six). */
function sections(command: Command, depth: number, shared: readonly SharedOptions[]): string[] {
  return [
    ...commandSection(command, Math.min(depth, 6), shared),
    ...subcommandsOf(command).flatMap((sub) => sections(sub, depth + 1, shared)),
  ];
}

const link = (title: string): string => `[${title}](#${githubSlug(title)})`;

function commandContents(command: Command, indent: string): string[] {
  return subcommandsOf(command).flatMap((sub) => [
    `${indent}- ${link(commandPath(sub))}`,
    ...commandContents(sub, `${indent}  `),
  ]);
}

function contents(program: Command, shared: readonly SharedOptions[]): string[] {
  return [
    `- ${link("Usage")}`,
    ...shared.map((set) => `- ${link(set.title)}`),
    ...commandContents(program, ""),
    `- ${link("Exit codes")}`,
  ];
}

function exitCodeTable(rows: readonly ExitCodeRow[]): string[] {
  return [
    "| exit | name | meaning |",
    "|---|---|---|",
    ...rows.map((row) => `| ${row.code} | ${code(row.name)} | ${markdownText(row.meaning)} |`),
  ];
}

export function renderCliReference(input: CliReferenceInput): string {
  const { program, shared } = input;
  const globalOptions = help.visibleOptions(program).filter((o) => o.long !== "--help");
  const lines = paragraphs(
    [input.preamble.trimEnd()],
    ["## Contents"],
    contents(program, shared),
    ["## Usage"],
    ["```text", help.commandUsage(program), "```"],
    [markdownText(help.commandDescription(program))],
    optionTable(globalOptions),
    ["`--help` after any command prints its usage, its options and the example shown here."],
    ...shared.map((set) => [`## ${set.title}`, "", set.intro, "", ...optionTable(set.options)]),
  );
  for (const command of subcommandsOf(program)) lines.push(...sections(command, 2, shared));
  lines.push(
    ...paragraphs(
      ["## Exit codes"],
      [
        "Every command ends with one of these (`EXIT` in `src/ops/errors.ts`; this table is generated from it). An unknown incident, kill switch or quarantine is 12 on every command that names one; `test/cli/exit-codes.test.ts` runs each command's error paths against this table.",
      ],
      exitCodeTable(input.exitCodes),
    ),
  );
  return `${lines.join("\n").trimEnd()}\n`;
}
