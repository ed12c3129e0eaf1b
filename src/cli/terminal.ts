/**
 * Everything the CLI writes to stdout and stderr passes `escapeTerminal` (src/core/escape.ts): what
 * it prints comes from Redis and Edge Config (switch ids and reasons, incident titles, actor names,
 * region names, paths the mirror kept), and an ESC sequence or a C1, CR, BS or bidi control in any of
 * it would act on the responder's terminal (recolour, move the cursor, overwrite or hide lines,
 * retitle, plant a hyperlink) instead of showing. One guard over both streams covers every command,
 * `console.*`, `process.std*.write` and commander, so no new print can forget it.
 *
 * The CLI's own control sequences (the screen refresh of `status --watch`, the line editing of the
 * confirmation prompt) go around it, through `writeRaw` and `rawTerminal`. JSON output stays valid
 * and equal: the escapes are JSON's own `\uXXXX`, and JSON.stringify leaves only C1 and the Unicode
 * controls raw. Markdown output has none left (its escaping made them visible already).
 */
import { escapeTerminal } from "../core/escape.js";

type Write = NodeJS.WriteStream["write"];

const originals = new Map<NodeJS.WriteStream, Write>();
let raw = 0;

function guard(stream: NodeJS.WriteStream): void {
  if (originals.has(stream)) return;
  const write = stream.write.bind(stream) as Write;
  originals.set(stream, write);
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (raw > 0) return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    const text =
      typeof chunk === "string"
        ? chunk
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk).toString("utf8")
          : String(chunk);
    // A string now, whatever the encoding argument said about the chunk.
    const callback = rest.find((arg) => typeof arg === "function");
    return (write as (...args: unknown[]) => boolean)(
      escapeTerminal(text),
      ...(callback === undefined ? [] : [callback]),
    );
  }) as Write;
}

/** Installs the guard on stdout and stderr (once; later calls do nothing). */
export function guardTerminal(): void {
  guard(process.stdout);
  guard(process.stderr);
}

/** Writes the CLI's own control sequence (no data in it) past the guard. */
export function writeRaw(stream: NodeJS.WriteStream, text: string): void {
  (originals.get(stream) ?? stream.write.bind(stream))(text);
}

/** Runs `body` with the guard open, for readline's own line editing while a prompt waits for input. */
export async function rawTerminal<T>(body: () => Promise<T>): Promise<T> {
  raw++;
  try {
    return await body();
  } finally {
    raw--;
  }
}
