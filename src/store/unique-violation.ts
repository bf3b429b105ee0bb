/** True when a database error is a primary-key or unique-constraint violation, on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' /* PostgreSQL unique_violation */ || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** True when a database error is a foreign-key violation, on either dialect. */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23503' /* PostgreSQL foreign_key_violation */ || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
