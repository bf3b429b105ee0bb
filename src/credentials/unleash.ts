import type { UnleashProjects, UnleashVisiblePart } from './types.js';

/**
 * The visible `<project>:<environment>` part of an UNLEASH token, written the
 * way Unleash writes its own (api-token-service `generateSecretKey`): one
 * project id, `*` for all projects, `[]` for a list of several. SPEC §3: this
 * part "must match the stored scope exactly", so a token keeps telling the
 * truth about what it may read.
 */

/** `*`, the single project id, or `[]`. */
export function unleashProjectsPart(projects: readonly string[]): string {
  if (projects.includes('*')) return '*';
  if (projects.length === 1) return projects[0]!;
  return '[]';
}

export function formatUnleashVisiblePart(projects: readonly string[], environment: string): string {
  return `${unleashProjectsPart(projects)}:${environment}`;
}

/** The structured form of a projects part as the token shows it (`[]` becomes an empty array). */
export function toUnleashProjects(part: string): UnleashProjects {
  if (part === '*') return '*';
  if (part === '[]') return [];
  return part;
}

function projectsPartOf(projects: UnleashProjects): string {
  if (projects === '*') return '*';
  if (Array.isArray(projects)) return '[]';
  return projects;
}

/**
 * True when a token's visible part describes the stored scope exactly:
 * the single stored environment, and `*` for `['*']`, the id for one
 * project, `[]` for several. The pipeline refuses a token for which this is
 * false (its visible part would lie about what it can read).
 */
export function unleashScopeMatches(
  visible: UnleashVisiblePart,
  stored: { projects: readonly string[]; environments: readonly string[] },
): boolean {
  return (
    stored.environments.length === 1 &&
    stored.environments[0] === visible.environment &&
    stored.projects.length > 0 &&
    unleashProjectsPart(stored.projects) === projectsPartOf(visible.projects)
  );
}
