/**
 * Splits a SQL script into statements at top-level semicolons.
 *
 * Semicolons inside 'strings', "identifiers", `backticks`, -- line comments and block comments do not split.
 * Comments are kept with the statement they precede; statements that hold only comments and whitespace are dropped.
 *
 * @example
 * ```ts
 * splitStatements("CREATE TABLE a (x UInt8) ENGINE = Memory; -- one\nSELECT 1;"); // two statements
 * ```
 */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  let hasCode = false;
  const n = script.length;
  while (i < n) {
    const c = script[i]!;
    const next = script[i + 1];
    if (c === "-" && next === "-") {
      const end = script.indexOf("\n", i);
      i = end === -1 ? n : end + 1;
    } else if (c === "/" && next === "*") {
      const end = script.indexOf("*/", i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === "'" || c === '"' || c === "`") {
      hasCode = true;
      i++;
      while (i < n && script[i] !== c) i += script[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === ";") {
      if (hasCode) out.push(script.slice(start, i).trim());
      start = i + 1;
      hasCode = false;
      i++;
    } else {
      if (!/\s/.test(c)) hasCode = true;
      i++;
    }
  }
  if (hasCode) out.push(script.slice(start).trim());
  return out;
}
