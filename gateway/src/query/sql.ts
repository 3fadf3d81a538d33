/**
 * SQL identifier quoting for DuckDB: double quotes, doubled inside. Here, beside the embedded
 * queries, because the embedded store (which creates the tables) imports the query folder, never
 * the other way round.
 */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
