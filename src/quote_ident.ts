/**
 * SQL identifiers built from names given at run time, for the statements
 * that take no parameters (SET ROLE, CREATE ROLE, CREATE SCHEMA).
 *
 * @module
 */

/**
 * Quote a name as PostgreSQL's `quote_ident` does when it must: always in
 * double quotes, embedded quotes doubled, so any name is one identifier.
 *
 * @example
 * ```ts
 * import { quoteIdent } from "./quote_ident.ts";
 * quoteIdent('my "odd" role'); // '"my ""odd"" role"'
 * ```
 */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
