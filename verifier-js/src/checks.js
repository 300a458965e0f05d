// Named checks ("fragments") and the verdict derived from them, as ledger/core/checks.py: every check is VALID,
// INVALID, SKIPPED or ERROR with a stable reason code; the verdict is VALID only when every required check is.

export const check = (name, status, reason, message = '', data = {}) => ({ name, status, reason, message, data });

/** INVALID if any check failed, ERROR if one could not run, VALID only if every required one passed. */
export function verdict(checks, required) {
  const byName = new Map(checks.map((c) => [c.name, c]));
  const all = [...byName.values()];
  if (all.some((c) => c.status === 'INVALID')) return 'INVALID';
  if (all.some((c) => c.status === 'ERROR')) return 'ERROR';
  return required.every((n) => byName.get(n)?.status === 'VALID') ? 'VALID' : 'INVALID';
}
