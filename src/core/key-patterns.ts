/**
 * Glob patterns for a layout of Redis key names: a name stays as it is, a name built by a function
 * becomes the function called with `*` for every part. Redis ACL rules are derived this way from
 * the layouts that write the keys, so a key added to a layout is granted with it (docs/contracts.md).
 */
export type KeyLayout = Readonly<Record<string, string | ((...parts: never[]) => string)>>;

export function keyPatterns(layout: KeyLayout): string[] {
  return Object.values(layout).map((name) =>
    typeof name === "string"
      ? name
      : (name as (...parts: string[]) => string)(...Array(name.length).fill("*")),
  );
}
