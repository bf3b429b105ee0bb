/**
 * The pure flag module: definitions, validation, compilation, bucketing and resolution (SPEC §4, §6).
 * No protobuf, Connect or Kysely types; see ./README.md for the semantics.
 */
export * from './model.js';
export { validateFlagDefinition, flagDefinitionError, MAX_RULES, MAX_VARIANTS, VARIANT_NAME_PATTERN } from './validate.js';
export { compileFlag, type CompiledFlag, type CompiledRule } from './compile.js';
export {
  resolveFlag,
  resolveFlags,
  flagNotFound,
  unitValue,
  RESOLVE_REASONS,
  type Resolution,
  type ResolveReason,
  type ResolveOptions,
  type ExpectKind,
  type EnvironmentsApply,
} from './evaluate.js';
export { environmentFilter, ruleAppliesToEnvironments } from './environments.js';
export { bucketOf, hashUnit, allocate } from './bucketing.js';
export { readAttribute, parseAttributePath, attributePathProblem } from './context.js';
export { enableRegexBacktrackingFallback, MAX_REGEX_PATTERN_LENGTH, MAX_REGEX_INPUT_LENGTH } from './regex.js';
