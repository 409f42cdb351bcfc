/** Reading the repo's sources for tests/architecture.test.ts: files, a scanner that tells code from strings and comments, imports and classes. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The repo's root. */
export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

const SOURCE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/** A repo-relative path with forward slashes. */
const repoPath = (absolute: string) => relative(ROOT, absolute).split(sep).join("/");

/** Every source file under a folder of the repo, repo-relative, sorted. */
export function sourceFiles(folder: string, keep: (dir: string, name: string) => boolean = () => true): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "node_modules") continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (keep(dir, entry.name)) walk(path);
      } else if (SOURCE.test(entry.name)) found.push(repoPath(path));
    }
  };
  walk(join(ROOT, folder));
  return found.sort();
}

// ---------------------------------------------------------------- scanning

export interface Literal {
  /** Offset of the opening quote. */
  start: number;
  /** Offset just past the closing quote. */
  end: number;
  value: string;
}

export interface Scanned {
  /** The text with comments, string contents, template text and regular expression bodies blanked (newlines kept). */
  code: string;
  /** Every string literal, and every template literal without substitutions. */
  literals: Literal[];
}

/** Keywords after which a `/` starts a regular expression, not a division. */
const REGEX_AFTER_WORD = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);
const REGEX_AFTER_CHAR = new Set([..."(,=:[!&|?{};+-*%<>~^"]);

export function scan(text: string): Scanned {
  const out = text.split("");
  const literals: Literal[] = [];
  const blank = (from: number, to: number) => {
    for (let k = from; k < to && k < out.length; k++) if (out[k] !== "\n") out[k] = " ";
  };
  const n = text.length;
  /** One entry per open `{`: true when it is a template's `${`. */
  const braces: boolean[] = [];
  let last = -1; // offset of the last significant character of code

  const regexAllowed = () => {
    if (last < 0) return true;
    const c = text[last]!;
    if (REGEX_AFTER_CHAR.has(c)) return true;
    if (!/[\w$]/.test(c)) return false;
    let k = last;
    while (k > 0 && /[\w$]/.test(text[k - 1]!)) k--;
    return REGEX_AFTER_WORD.has(text.slice(k, last + 1)) && text[k - 1] !== ".";
  };

  /** Template text from `from` on; returns where code resumes. `open` is the backtick's offset, or -1 after a substitution. */
  const template = (from: number, open: number): number => {
    let j = from;
    while (j < n && text[j] !== "`" && !(text[j] === "$" && text[j + 1] === "{")) j += text[j] === "\\" ? 2 : 1;
    j = Math.min(j, n);
    if (text[j] === "$") {
      blank(from, j + 2);
      braces.push(true);
      last = j + 1;
      return j + 2;
    }
    if (open >= 0) literals.push({ start: open, end: j + 1, value: text.slice(from, j) });
    blank(from, j);
    last = j;
    return j + 1;
  };

  let i = 0;
  if (text.startsWith("#!")) {
    i = text.indexOf("\n") < 0 ? n : text.indexOf("\n");
    blank(0, i);
  }
  while (i < n) {
    const c = text[i]!;
    if (c === "/" && text[i + 1] === "/") {
      const end = text.indexOf("\n", i) < 0 ? n : text.indexOf("\n", i);
      blank(i, end);
      i = end;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2) < 0 ? n : text.indexOf("*/", i + 2) + 2;
      blank(i, end);
      i = end;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && text[j] !== c && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      j = Math.min(j, n);
      literals.push({ start: i, end: j + 1, value: text.slice(i + 1, j) });
      blank(i + 1, j);
      last = j;
      i = j + 1;
    } else if (c === "`") {
      i = template(i + 1, i);
    } else if (c === "}" && braces.at(-1) === true) {
      braces.pop();
      blank(i, i + 1);
      i = template(i + 1, -1);
    } else if (c === "/" && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      while (j < n && text[j] !== "\n") {
        if (text[j] === "\\") j++;
        else if (text[j] === "[") inClass = true;
        else if (text[j] === "]") inClass = false;
        else if (text[j] === "/" && !inClass) break;
        j++;
      }
      blank(i + 1, j);
      j++;
      while (j < n && /[a-z]/.test(text[j]!)) j++;
      last = j - 1;
      i = j;
    } else {
      if (c === "{") braces.push(false);
      else if (c === "}") braces.pop();
      if (!/\s/.test(c)) last = i;
      i++;
    }
  }
  return { code: out.join(""), literals };
}

const cache = new Map<string, Scanned & { text: string }>();
/** A repo file, read and scanned once. */
export function source(path: string): Scanned & { text: string } {
  let s = cache.get(path);
  if (!s) {
    const text = readFileSync(join(ROOT, path), "utf8");
    s = { text, ...scan(text) };
    cache.set(path, s);
  }
  return s;
}

export const lineAt = (text: string, offset: number) => text.slice(0, offset).split("\n").length;

export interface Import {
  from: string;
  line: number;
  specifier: string;
  /** The repo-relative file a relative specifier names (`.js` read as `.ts` when only that exists), or null for a bare one. */
  target: string | null;
}

function resolveSpecifier(from: string, specifier: string): string | null {
  if (!specifier.startsWith(".") && !specifier.startsWith("/")) return null;
  const absolute = resolve(dirname(join(ROOT, from)), specifier);
  if (!existsSync(absolute) && /\.[cm]?js$/.test(absolute)) {
    const ts = absolute.replace(/js$/, "ts");
    if (existsSync(ts)) return repoPath(ts);
  }
  return repoPath(absolute);
}

/** The string literals of a scanned text that are module specifiers: after `from` (`import … from`, `export … from`), after `import` (`import "…"`), or the one argument of `import(…)`. */
export function specifierLiterals({ code, literals }: Scanned): Literal[] {
  return literals.filter((literal) => {
    // Not preceded by an identifier character or a dot: `from` and `import` as words, not `x.from`.
    const before = code.slice(Math.max(0, literal.start - 200), literal.start);
    if (/(?:^|[^\w$.])(?:from|import)\s*$/.test(before)) return true;
    return /(?:^|[^\w$.])import\s*\(\s*$/.test(before) && /^\s*[,)]/.test(code.slice(literal.end, literal.end + 50));
  });
}

/** The imports of a repo file, with what each names. */
export function imports(path: string): Import[] {
  const scanned = source(path);
  return specifierLiterals(scanned).map((literal) => ({
    from: path,
    line: lineAt(scanned.text, literal.start),
    specifier: literal.value,
    target: resolveSpecifier(path, literal.value),
  }));
}

/** Line count as `wc -l` gives it. */
export const lineCount = (text: string) => text.split("\n").length - (text.endsWith("\n") ? 1 : 0);

/** Every class of a scanned text with its size in lines, from `class X` to its closing brace. */
export function classes(
  { text, code }: { text: string; code: string },
): { name: string; line: number; lines: number }[] {
  const found: { name: string; line: number; lines: number }[] = [];
  for (
    const m of code.matchAll(/(?<![\w$.])class(?:\s+([A-Za-z_$][\w$]*))?(?=\s*[<{]|\s+extends\b|\s+implements\b)/g)
  ) {
    // The body's brace is the first `{` outside the type parameters and the extends clause's arguments.
    let k = m.index! + m[0].length;
    let depth = 0;
    for (; k < code.length; k++) {
      const c = code[k];
      if (c === "=" && code[k + 1] === ">") k++;
      else if (c === "<" || c === "(" || c === "[") depth++;
      else if (c === ">" || c === ")" || c === "]") depth--;
      else if (c === "{" && depth === 0) break;
      else if (c === "{") {
        // An object type inside type arguments: skip it whole.
        let inner = 1;
        while (inner > 0 && ++k < code.length) inner += code[k] === "{" ? 1 : code[k] === "}" ? -1 : 0;
      }
    }
    let open = 0;
    let end = k;
    for (; end < code.length; end++) {
      if (code[end] === "{") open++;
      else if (code[end] === "}" && --open === 0) break;
    }
    const line = lineAt(text, m.index!);
    found.push({ name: m[1] ?? "(anonymous)", line, lines: lineAt(text, end) - line + 1 });
  }
  return found;
}

// ---------------------------------------------------------------- the tree
