import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { Code, createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { FlagAdminService } from '../../../gen/latchkey/flags/admin/v1/flag_admin_service_pb.js';
import { Condition_Operator, Flag_Kind, Flag_State } from '../../../gen/latchkey/flags/admin/v1/flag_pb.js';
import { ClientCredentialService } from '../../../gen/latchkey/clients/v1/client_credential_service_pb.js';
import { ClientCredential_Class as CredentialClass, ClientCredential_Format as CredentialFormat } from '../../../gen/latchkey/clients/v1/client_credential_pb.js';
import { OPERATORS } from '../../../src/flags/model.js';
import { BOOTSTRAP, BOOTSTRAP_CONFIG, bearer, connectClient, requestToken } from '../../support/clients.js';
import { refusal } from '../../support/errors.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const ADMIN = 'apiClients/bootstrap-admin';

describe('FlagAdminService: projects and environments', () => {
  let server: TestServer;
  let admin: ReturnType<typeof connectClient<typeof FlagAdminService>>;

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    admin = connectClient(server, FlagAdminService, bearer(await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret)));
  });
  afterAll(async () => {
    await server.close();
  });

  it('has the default project and the three default environments from the first start', async () => {
    const projects = await admin.listProjects({});
    expect(projects.projects.map((p) => [p.name, p.displayName, p.creator])).toEqual([['projects/default', 'Default', '']]);
    const envs = await admin.listEnvironments({});
    expect(envs.environments.map((e) => [e.name, e.displayName, e.production])).toEqual([
      ['environments/development', 'Development', false],
      ['environments/production', 'Production', true],
      ['environments/staging', 'Staging', false],
    ]);
    expect(envs.nextPageToken).toBe('');
  });

  it('creates, gets, updates and deletes a project', async () => {
    const created = await admin.createProject({ projectId: 'checkout', project: { displayName: 'Checkout', description: 'payments', creator: 'ignored' } });
    expect(created).toMatchObject({ name: 'projects/checkout', displayName: 'Checkout', description: 'payments', creator: ADMIN, updater: ADMIN });
    expect(created.createTime).toBeDefined();
    expect(created.updateTime).toEqual(created.createTime);
    expect(await admin.getProject({ name: 'projects/checkout' })).toEqual(created);

    const updated = await admin.updateProject({ project: { name: 'projects/checkout', displayName: 'Checkout v2', description: 'not applied' }, updateMask: { paths: ['display_name'] } });
    expect(updated).toMatchObject({ displayName: 'Checkout v2', description: 'payments', creator: ADMIN, updater: ADMIN });
    expect(updated.createTime).toEqual(created.createTime);
    const all = await admin.updateProject({ project: { name: 'projects/checkout', displayName: 'C', description: 'D' }, updateMask: { paths: ['*'] } });
    expect(all).toMatchObject({ displayName: 'C', description: 'D' });

    await admin.deleteProject({ name: 'projects/checkout' });
    expect(await refusal(admin.getProject({ name: 'projects/checkout' }))).toMatchObject({ code: Code.NotFound, reason: 'NOT_FOUND', message: 'projects/checkout not found' });
    expect(await refusal(admin.deleteProject({ name: 'projects/checkout' }))).toMatchObject({ code: Code.NotFound });
  });

  it('generates a project id, refuses a taken or invalid one and overlong text, storing nothing', async () => {
    const generated = await admin.createProject({ project: {} });
    expect(generated.name).toMatch(/^projects\/[a-z][a-z0-9]{15}$/);
    expect(await refusal(admin.createProject({ projectId: 'default', project: {} }))).toMatchObject({
      code: Code.AlreadyExists,
      reason: 'ALREADY_EXISTS',
      message: 'projects/default already exists',
    });
    expect(await refusal(admin.createProject({ projectId: 'Bad_Id', project: {} }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'INVALID_ID',
      fieldViolations: [{ field: 'project_id', description: 'must match [a-z][a-z0-9-]{0,62}' }],
    });
    expect(await refusal(admin.createProject({ projectId: 'long', project: { displayName: 'x'.repeat(257), description: 'y'.repeat(2049) } }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'INVALID_ARGUMENT',
      fieldViolations: [
        { field: 'project.display_name', description: 'must be at most 256 characters' },
        { field: 'project.description', description: 'must be at most 2048 characters' },
      ],
    });
    expect(await refusal(admin.getProject({ name: 'projects/long' }))).toMatchObject({ code: Code.NotFound });
    expect(await refusal(admin.getProject({ name: 'project/long' }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'INVALID_NAME',
      fieldViolations: [{ field: 'name', description: 'expected projects/{project}' }],
    });
  });

  it('applies update_mask rules: required, only updatable fields, unknown resource', async () => {
    await admin.createProject({ projectId: 'masks', project: { displayName: 'Masks' } });
    expect(await refusal(admin.updateProject({ project: { name: 'projects/masks', displayName: 'x' } }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'UPDATE_MASK_REQUIRED',
    });
    expect(await refusal(admin.updateProject({ project: { name: 'projects/masks' }, updateMask: { paths: ['create_time'] } }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'UPDATE_MASK_INVALID',
      fieldViolations: [{ field: 'update_mask.paths', description: 'create_time cannot be updated' }],
    });
    expect(await refusal(admin.updateProject({ project: { name: 'projects/ghost' }, updateMask: { paths: ['description'] } }))).toMatchObject({
      code: Code.NotFound,
      message: 'projects/ghost not found',
    });
    expect(await refusal(admin.updateProject({ project: { name: 'projects/masks', displayName: 'x'.repeat(300) }, updateMask: { paths: ['display_name'] } }))).toMatchObject({
      code: Code.InvalidArgument,
      fieldViolations: [{ field: 'project.display_name', description: 'must be at most 256 characters' }],
    });
    expect((await admin.getProject({ name: 'projects/masks' })).displayName).toBe('Masks');
  });

  it('refuses to delete the default project', async () => {
    expect(await refusal(admin.deleteProject({ name: 'projects/default' }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: 'BUILT_IN_RESOURCE',
    });
    await admin.getProject({ name: 'projects/default' });
  });

  it('pages projects with opaque tokens in id order', async () => {
    for (const id of ['page-a', 'page-b', 'page-c']) await admin.createProject({ projectId: id, project: {} });
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await admin.listProjects({ pageSize: 2, pageToken });
      expect(page.projects.length).toBeLessThanOrEqual(2);
      seen.push(...page.projects.map((p) => p.name));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(['projects/default', 'projects/page-a', 'projects/page-b', 'projects/page-c']));
    expect(await refusal(admin.listProjects({ pageToken: 'garbage' }))).toMatchObject({ code: Code.InvalidArgument, reason: 'INVALID_PAGE_TOKEN' });
    const envPage = await admin.listEnvironments({ pageSize: 1 });
    expect(await refusal(admin.listProjects({ pageToken: envPage.nextPageToken }))).toMatchObject({ reason: 'INVALID_PAGE_TOKEN' });
  });

  it('creates an environment, marks it production with UpdateEnvironment, and deletes it', async () => {
    const created = await admin.createEnvironment({ environmentId: 'qa', environment: { displayName: 'QA', description: 'testers' } });
    expect(created).toMatchObject({ name: 'environments/qa', displayName: 'QA', description: 'testers', production: false, creator: ADMIN, updater: ADMIN });
    expect(await admin.getEnvironment({ name: 'environments/qa' })).toEqual(created);

    const marked = await admin.updateEnvironment({ environment: { name: 'environments/qa', production: true, displayName: 'not applied' }, updateMask: { paths: ['production'] } });
    expect(marked).toMatchObject({ name: 'environments/qa', production: true, displayName: 'QA', description: 'testers' });
    expect((await admin.getEnvironment({ name: 'environments/qa' })).production).toBe(true);
    const unmarked = await admin.updateEnvironment({ environment: { name: 'environments/qa' }, updateMask: { paths: ['production'] } });
    expect(unmarked.production).toBe(false);

    expect(await refusal(admin.createEnvironment({ environmentId: 'qa', environment: {} }))).toMatchObject({ code: Code.AlreadyExists, message: 'environments/qa already exists' });
    expect(await refusal(admin.updateEnvironment({ environment: { name: 'environments/qa' }, updateMask: { paths: ['name'] } }))).toMatchObject({ reason: 'UPDATE_MASK_INVALID' });

    await admin.deleteEnvironment({ name: 'environments/qa' });
    expect(await refusal(admin.getEnvironment({ name: 'environments/qa' }))).toMatchObject({ code: Code.NotFound, message: 'environments/qa not found' });
    expect(await refusal(admin.deleteEnvironment({ name: 'environments/qa' }))).toMatchObject({ code: Code.NotFound });
  });

  it('refuses to delete a built-in environment', async () => {
    for (const id of ['development', 'staging', 'production']) {
      expect(await refusal(admin.deleteEnvironment({ name: `environments/${id}` }))).toMatchObject({ code: Code.FailedPrecondition, reason: 'BUILT_IN_RESOURCE' });
    }
    expect((await admin.listEnvironments({})).environments.map((e) => e.name)).toEqual(
      expect.arrayContaining(['environments/development', 'environments/staging', 'environments/production']),
    );
  });
});

const v = (json: JsonValue) => fromJson(ValueSchema, json);

/** A valid BOOLEAN flag with one targeting rule. */
function booleanFlag(overrides: Partial<FlagInit> = {}): FlagInit {
  const base: FlagInit = {
    description: 'dark theme',
    kind: Flag_Kind.BOOLEAN,
    variants: [
      { name: 'on', value: v(true) },
      { name: 'off', value: v(false) },
    ],
    defaultVariant: 'off',
    rules: [
      {
        name: 'beta testers',
        enabled: true,
        environments: ['staging'],
        conditions: [{ attribute: 'user.group', operator: Condition_Operator.EQUALS, values: [v('beta')] }],
        allocations: [{ variant: 'on', weight: 5000 }],
      },
    ],
  };
  return { ...base, ...overrides } as FlagInit;
}

type FlagInit = NonNullable<Parameters<ReturnType<typeof connectClient<typeof FlagAdminService>>['createFlag']>[0]['flag']>;

describe('FlagAdminService: flags', () => {
  let server: TestServer;
  let admin: ReturnType<typeof connectClient<typeof FlagAdminService>>;
  let token: string;

  const changeLog = async (entity: string, key: string) =>
    (await server.app.database.db.selectFrom('change_log').select('seq').where('entity', '=', entity).where('entity_key', '=', key).execute()).length;

  beforeAll(async () => {
    server = await startTestServer(BOOTSTRAP_CONFIG);
    token = await requestToken(server, BOOTSTRAP.clientId, BOOTSTRAP.secret);
    admin = connectClient(server, FlagAdminService, bearer(token));
    await admin.createProject({ projectId: 'checkout', project: { displayName: 'Checkout' } });
  });
  afterAll(async () => {
    await server.close();
  });

  it('creates a flag and returns every field, with a salt and ACTIVE state', async () => {
    const created = await admin.createFlag({
      flagId: 'new-checkout',
      flag: {
        project: 'projects/checkout',
        description: 'the new checkout',
        secret: true,
        kind: Flag_Kind.OBJECT,
        state: Flag_State.UNSPECIFIED,
        salt: 'ignored',
        creator: 'ignored',
        variants: [
          { name: 'control', value: v({ layout: 'classic', steps: 3, express: false, tags: ['a', null] }) },
          { name: 'treatment', value: v({ layout: 'single-page', steps: 1, nested: { x: 1.5 } }) },
        ],
        defaultVariant: 'control',
        rules: [
          {
            name: 'employees',
            enabled: true,
            environments: ['development', 'staging'],
            conditions: [
              { attribute: 'user.email', operator: Condition_Operator.ENDS_WITH, values: [v('@example.com')] },
              { attribute: 'app.version', operator: Condition_Operator.SEMVER_GREATER_THAN_OR_EQUAL, values: [v('2.1.0')] },
              { attribute: 'user.country', operator: Condition_Operator.IN, values: [v('SE'), v('NO')] },
              { attribute: 'user.id', operator: Condition_Operator.MATCHES, values: [v('^emp-[0-9]+$')] },
              { attribute: 'user.beta', operator: Condition_Operator.EXISTS, values: [] },
            ],
            randomizationUnit: 'user.id',
            allocations: [
              { variant: 'treatment', weight: 2500 },
              { variant: 'control', weight: 2500 },
            ],
          },
          { name: 'off for now', enabled: false, environments: [], conditions: [], allocations: [{ variant: 'treatment', weight: 10000 }] },
        ],
      },
    });
    expect(created).toMatchObject({
      name: 'flags/new-checkout',
      project: 'projects/checkout',
      description: 'the new checkout',
      state: Flag_State.ACTIVE,
      secret: true,
      kind: Flag_Kind.OBJECT,
      defaultVariant: 'control',
      creator: ADMIN,
      updater: ADMIN,
    });
    expect(created.salt).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(created.createTime).toBeDefined();
    expect(created.updateTime).toEqual(created.createTime);
    expect(created.variants.map((x) => [x.name, toJson(ValueSchema, x.value!)])).toEqual([
      ['control', { layout: 'classic', steps: 3, express: false, tags: ['a', null] }],
      ['treatment', { layout: 'single-page', steps: 1, nested: { x: 1.5 } }],
    ]);
    expect(
      created.rules.map((r) => ({
        name: r.name,
        enabled: r.enabled,
        environments: r.environments,
        conditions: r.conditions.map((c) => [c.attribute, Condition_Operator[c.operator], c.values.map((x) => toJson(ValueSchema, x))]),
        randomizationUnit: r.randomizationUnit,
        allocations: r.allocations.map((a) => [a.variant, a.weight]),
      })),
    ).toEqual([
      {
        name: 'employees',
        enabled: true,
        environments: ['development', 'staging'],
        conditions: [
          ['user.email', 'ENDS_WITH', ['@example.com']],
          ['app.version', 'SEMVER_GREATER_THAN_OR_EQUAL', ['2.1.0']],
          ['user.country', 'IN', ['SE', 'NO']],
          ['user.id', 'MATCHES', ['^emp-[0-9]+$']],
          ['user.beta', 'EXISTS', []],
        ],
        randomizationUnit: 'user.id',
        allocations: [
          ['treatment', 2500],
          ['control', 2500],
        ],
      },
      { name: 'off for now', enabled: false, environments: [], conditions: [], randomizationUnit: '', allocations: [['treatment', 10000]] },
    ]);
    expect(await admin.getFlag({ name: 'flags/new-checkout' })).toEqual(created);
    expect(await changeLog('flag', 'new-checkout')).toBe(1);
  });

  it('puts a flag without a project in projects/default, and generates an id when none is given', async () => {
    const created = await admin.createFlag({ flagId: 'dark-mode', flag: booleanFlag() });
    expect(created).toMatchObject({ name: 'flags/dark-mode', project: 'projects/default', state: Flag_State.ACTIVE, secret: false });
    const generated = await admin.createFlag({ flag: booleanFlag({ rules: [] }) });
    expect(generated.name).toMatch(/^flags\/[a-z][a-z0-9]{15}$/);
    expect(generated.salt).not.toBe(created.salt);
    await admin.deleteFlag({ name: generated.name });
  });

  it('keeps flag ids unique across projects', async () => {
    expect(await refusal(admin.createFlag({ flagId: 'dark-mode', flag: booleanFlag({ project: 'projects/checkout' }) }))).toMatchObject({
      code: Code.AlreadyExists,
      reason: 'ALREADY_EXISTS',
      message: 'flags/dark-mode already exists',
    });
    expect((await admin.getFlag({ name: 'flags/dark-mode' })).project).toBe('projects/default');
  });

  it('refuses an unknown or malformed project as a field violation', async () => {
    expect(await refusal(admin.createFlag({ flagId: 'orphan', flag: booleanFlag({ project: 'projects/nowhere' }) }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'INVALID_ARGUMENT',
      fieldViolations: [{ field: 'flag.project', description: 'unknown project projects/nowhere' }],
    });
    // A bare id is a reference too (both spellings are accepted); a malformed one says which forms are.
    expect(await refusal(admin.createFlag({ flagId: 'orphan', flag: booleanFlag({ project: 'nowhere' }) }))).toMatchObject({
      code: Code.InvalidArgument,
      fieldViolations: [{ field: 'flag.project', description: 'unknown project projects/nowhere' }],
    });
    expect(await refusal(admin.createFlag({ flagId: 'orphan', flag: booleanFlag({ project: 'projects/no/where' }) }))).toMatchObject({
      code: Code.InvalidArgument,
      fieldViolations: [{ field: 'flag.project', description: 'expected projects/{project} (or the project id alone)' }],
    });
    expect(await refusal(admin.getFlag({ name: 'flags/orphan' }))).toMatchObject({ code: Code.NotFound });
  });

  it('updates only the fields in update_mask, keeping the salt, and re-validates the merged flag', async () => {
    const before = await admin.getFlag({ name: 'flags/dark-mode' });
    const updated = await admin.updateFlag({
      flag: { name: 'flags/dark-mode', description: 'dark theme for everyone', defaultVariant: 'on', secret: true, project: 'projects/checkout', kind: Flag_Kind.STRING },
      updateMask: { paths: ['description', 'default_variant'] },
    });
    expect(updated).toMatchObject({
      name: 'flags/dark-mode',
      project: 'projects/default',
      description: 'dark theme for everyone',
      defaultVariant: 'on',
      secret: false,
      kind: Flag_Kind.BOOLEAN,
      salt: before.salt,
      creator: ADMIN,
      updater: ADMIN,
    });
    expect(updated.createTime).toEqual(before.createTime);
    expect(updated.rules).toEqual(before.rules);
    expect(await admin.getFlag({ name: 'flags/dark-mode' })).toEqual(updated);

    // Rules are replaced as a whole; an empty list with the mask clears them.
    const cleared = await admin.updateFlag({ flag: { name: 'flags/dark-mode' }, updateMask: { paths: ['rules'] } });
    expect(cleared.rules).toEqual([]);
    expect(cleared.variants).toEqual(before.variants);
    const ruled = await admin.updateFlag({ flag: { name: 'flags/dark-mode', rules: before.rules }, updateMask: { paths: ['rules'] } });
    expect(ruled.rules).toEqual(before.rules);

    // Changing the kind alone leaves boolean variants behind: the merged flag is refused.
    expect(await refusal(admin.updateFlag({ flag: { name: 'flags/dark-mode', kind: Flag_Kind.STRING }, updateMask: { paths: ['kind'] } }))).toMatchObject({
      code: Code.InvalidArgument,
      fieldViolations: [
        { field: 'flag.variants[0].value', description: 'a STRING flag needs a string value' },
        { field: 'flag.variants[1].value', description: 'a STRING flag needs a string value' },
      ],
    });
    // Clearing the variants leaves the default variant and the allocations dangling.
    expect((await refusal(admin.updateFlag({ flag: { name: 'flags/dark-mode' }, updateMask: { paths: ['variants'] } }))).fieldViolations).toEqual([
      { field: 'flag.default_variant', description: '"on" is not a variant of this flag' },
      { field: 'flag.rules[0].allocations[0].variant', description: '"on" is not a variant of this flag' },
    ]);
    // Kind and variants together: accepted.
    const strings = await admin.updateFlag({
      flag: { name: 'flags/dark-mode', kind: Flag_Kind.STRING, variants: [{ name: 'on', value: v('dark') }, { name: 'off', value: v('light') }] },
      updateMask: { paths: ['kind', 'variants'] },
    });
    expect(strings.kind).toBe(Flag_Kind.STRING);
    expect(strings.salt).toBe(before.salt);

    expect(await refusal(admin.updateFlag({ flag: { name: 'flags/dark-mode', project: 'projects/checkout' }, updateMask: { paths: ['project'] } }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'UPDATE_MASK_INVALID',
      fieldViolations: [{ field: 'update_mask.paths', description: 'project cannot be updated' }],
    });
    expect(await refusal(admin.updateFlag({ flag: { name: 'flags/dark-mode', salt: 'x' }, updateMask: { paths: ['salt'] } }))).toMatchObject({ reason: 'UPDATE_MASK_INVALID' });
    expect(await refusal(admin.updateFlag({ flag: { name: 'flags/dark-mode' } }))).toMatchObject({ reason: 'UPDATE_MASK_REQUIRED' });
    expect(await refusal(admin.updateFlag({ flag: { name: 'flags/ghost' }, updateMask: { paths: ['description'] } }))).toMatchObject({
      code: Code.NotFound,
      message: 'flags/ghost not found',
    });
    expect(await refusal(admin.updateFlag({ flag: { name: 'ghost' }, updateMask: { paths: ['description'] } }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'INVALID_NAME',
      fieldViolations: [{ field: 'flag.name', description: 'expected flags/{flag}' }],
    });
    expect((await admin.getFlag({ name: 'flags/dark-mode' })).salt).toBe(before.salt);
  });

  it('replaces every updatable field with update_mask "*"', async () => {
    await admin.createFlag({ flagId: 'replace-me', flag: booleanFlag({ project: 'projects/checkout', secret: true }) });
    const replaced = await admin.updateFlag({
      flag: { name: 'flags/replace-me', kind: Flag_Kind.NUMBER, variants: [{ name: 'ten', value: v(10) }] },
      updateMask: { paths: ['*'] },
    });
    expect(replaced).toMatchObject({
      project: 'projects/checkout',
      description: '',
      state: Flag_State.ACTIVE,
      secret: false,
      kind: Flag_Kind.NUMBER,
      defaultVariant: '',
      rules: [],
    });
    expect(replaced.variants.map((x) => [x.name, toJson(ValueSchema, x.value!)])).toEqual([['ten', 10]]);
  });

  it('archives a flag (idempotently), hides it from listings unless asked, and can bring it back', async () => {
    await admin.createFlag({ flagId: 'old-banner', flag: booleanFlag({ rules: [] }) });
    const seqBefore = await changeLog('flag', 'old-banner');
    const archived = await admin.archiveFlag({ name: 'flags/old-banner' });
    expect(archived).toMatchObject({ name: 'flags/old-banner', state: Flag_State.ARCHIVED, updater: ADMIN });
    expect(await changeLog('flag', 'old-banner')).toBe(seqBefore + 1);
    const again = await admin.archiveFlag({ name: 'flags/old-banner' });
    expect(again).toEqual(archived);
    expect(await changeLog('flag', 'old-banner')).toBe(seqBefore + 1);
    expect(await admin.getFlag({ name: 'flags/old-banner' })).toEqual(archived);

    const active = await admin.listFlags({ pageSize: 1000 });
    expect(active.flags.map((f) => f.name)).not.toContain('flags/old-banner');
    const all = await admin.listFlags({ pageSize: 1000, showArchived: true });
    expect(all.flags.map((f) => f.name)).toContain('flags/old-banner');

    const restored = await admin.updateFlag({ flag: { name: 'flags/old-banner', state: Flag_State.ACTIVE }, updateMask: { paths: ['state'] } });
    expect(restored.state).toBe(Flag_State.ACTIVE);
    expect(await refusal(admin.archiveFlag({ name: 'flags/ghost' }))).toMatchObject({ code: Code.NotFound });
  });

  it('deletes a flag', async () => {
    await admin.createFlag({ flagId: 'short-lived', flag: booleanFlag() });
    await admin.deleteFlag({ name: 'flags/short-lived' });
    expect(await refusal(admin.getFlag({ name: 'flags/short-lived' }))).toMatchObject({ code: Code.NotFound, message: 'flags/short-lived not found' });
    expect(await refusal(admin.deleteFlag({ name: 'flags/short-lived' }))).toMatchObject({ code: Code.NotFound });
    expect(await changeLog('flag', 'short-lived')).toBe(2);
    // The id is free again.
    await admin.createFlag({ flagId: 'short-lived', flag: booleanFlag() });
    await admin.deleteFlag({ name: 'flags/short-lived' });
  });

  it('lists flags in id order, by project or all, with paging', async () => {
    await admin.createProject({ projectId: 'listing', project: {} });
    for (const id of ['list-c', 'list-a', 'list-e', 'list-b', 'list-d']) {
      await admin.createFlag({ flagId: id, flag: booleanFlag({ project: 'projects/listing', rules: [] }) });
    }
    await admin.archiveFlag({ name: 'flags/list-d' });

    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await admin.listFlags({ parent: 'projects/listing', pageSize: 2, pageToken });
      expect(page.flags.length).toBeLessThanOrEqual(2);
      expect(page.flags.every((f) => f.project === 'projects/listing')).toBe(true);
      seen.push(...page.flags.map((f) => f.name));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual(['flags/list-a', 'flags/list-b', 'flags/list-c', 'flags/list-e']);

    const withArchived = await admin.listFlags({ parent: 'projects/listing', showArchived: true });
    expect(withArchived.flags.map((f) => f.name)).toEqual(['flags/list-a', 'flags/list-b', 'flags/list-c', 'flags/list-d', 'flags/list-e']);

    const everywhere = await admin.listFlags({ pageSize: 1000 });
    const names = everywhere.flags.map((f) => f.name);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['flags/dark-mode', 'flags/new-checkout', 'flags/list-a']));
    expect(new Set(everywhere.flags.map((f) => f.project))).toEqual(new Set(['projects/default', 'projects/checkout', 'projects/listing']));

    // A token is bound to its listing: another parent or archived filter refuses it.
    const first = await admin.listFlags({ parent: 'projects/listing', pageSize: 1 });
    expect(await refusal(admin.listFlags({ parent: 'projects/checkout', pageToken: first.nextPageToken }))).toMatchObject({ reason: 'INVALID_PAGE_TOKEN' });
    expect(await refusal(admin.listFlags({ parent: 'projects/listing', showArchived: true, pageToken: first.nextPageToken }))).toMatchObject({
      reason: 'INVALID_PAGE_TOKEN',
    });
    expect(await refusal(admin.listFlags({ parent: 'projects/nowhere' }))).toMatchObject({ code: Code.NotFound, message: 'projects/nowhere not found' });
    expect(await refusal(admin.listFlags({ parent: 'nowhere' }))).toMatchObject({
      code: Code.InvalidArgument,
      reason: 'INVALID_NAME',
      fieldViolations: [{ field: 'parent', description: 'expected projects/{project}' }],
    });
  });

  it('refuses to delete a project that still has flags (archived ones too): PROJECT_NOT_EMPTY', async () => {
    await admin.createProject({ projectId: 'busy', project: {} });
    await admin.createFlag({ flagId: 'busy-a', flag: booleanFlag({ project: 'projects/busy', rules: [] }) });
    await admin.createFlag({ flagId: 'busy-b', flag: booleanFlag({ project: 'projects/busy', rules: [] }) });
    await admin.archiveFlag({ name: 'flags/busy-b' });
    expect(await refusal(admin.deleteProject({ name: 'projects/busy' }))).toEqual({
      code: Code.FailedPrecondition,
      reason: 'PROJECT_NOT_EMPTY',
      domain: 'latchkey',
      metadata: { resource: 'projects/busy', flags: 'flags/busy-a,flags/busy-b' },
      message: 'projects/busy is still used by flags flags/busy-a, flags/busy-b; delete its flags first (archived flags count too)',
      fieldViolations: undefined,
    });
    await admin.deleteFlag({ name: 'flags/busy-a' });
    expect(await refusal(admin.deleteProject({ name: 'projects/busy' }))).toMatchObject({ reason: 'PROJECT_NOT_EMPTY', metadata: { flags: 'flags/busy-b' } });
    await admin.deleteFlag({ name: 'flags/busy-b' });
    await admin.deleteProject({ name: 'projects/busy' });
    expect(await refusal(admin.getProject({ name: 'projects/busy' }))).toMatchObject({ code: Code.NotFound });
  });

  it('refuses to delete an environment a flag rule names: ENVIRONMENT_IN_USE', async () => {
    await admin.createEnvironment({ environmentId: 'canary', environment: { displayName: 'Canary' } });
    const rule = (name: string) => ({ name, enabled: true, environments: ['canary'], allocations: [{ variant: 'on', weight: 100 }] });
    await admin.createFlag({ flagId: 'canary-a', flag: booleanFlag({ rules: [rule('x')] }) });
    await admin.createFlag({ flagId: 'canary-b', flag: booleanFlag({ project: 'projects/checkout', rules: [{ name: 'other', enabled: false }, rule('y')] }) });
    await admin.archiveFlag({ name: 'flags/canary-b' });
    expect(await refusal(admin.deleteEnvironment({ name: 'environments/canary' }))).toEqual({
      code: Code.FailedPrecondition,
      reason: 'ENVIRONMENT_IN_USE',
      domain: 'latchkey',
      metadata: { resource: 'environments/canary', flags: 'flags/canary-a,flags/canary-b' },
      message: 'environments/canary is still used by flags flags/canary-a, flags/canary-b; remove it from those flag rules and credentials first',
      fieldViolations: undefined,
    });
    expect((await admin.getEnvironment({ name: 'environments/canary' })).displayName).toBe('Canary');

    await admin.deleteFlag({ name: 'flags/canary-a' });
    await admin.updateFlag({ flag: { name: 'flags/canary-b', rules: [] }, updateMask: { paths: ['rules'] } });
    await admin.deleteEnvironment({ name: 'environments/canary' });
    // Now the environment is gone, a rule may no longer name it.
    expect((await refusal(admin.updateFlag({ flag: { name: 'flags/canary-b', rules: [rule('z')] }, updateMask: { paths: ['rules'] } }))).fieldViolations).toEqual([
      { field: 'flag.rules[0].environments[0]', description: 'environment "canary" does not exist' },
    ]);
  });

  it('refuses to delete an environment or project an active credential is bound to', async () => {
    const credentials = connectClient(server, ClientCredentialService, bearer(token));
    await admin.createEnvironment({ environmentId: 'edge', environment: {} });
    await admin.createProject({ projectId: 'bound', project: {} });
    await credentials.createClient({ clientId: 'web', client: { displayName: 'Web' } });
    await credentials.createClientCredential({
      parent: 'clients/web',
      credentialId: 'edge-key',
      credential: { class: CredentialClass.SECRET, format: CredentialFormat.CLIENT_SECRET, environments: ['edge'], projects: ['bound'], scopes: ['flags:read'] },
    });
    expect(await refusal(admin.deleteEnvironment({ name: 'environments/edge' }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: 'ENVIRONMENT_IN_USE',
      metadata: { resource: 'environments/edge', credentials: 'clients/web/credentials/edge-key' },
      message: 'environments/edge is still used by credentials clients/web/credentials/edge-key; remove it from those flag rules and credentials first',
    });
    expect(await refusal(admin.deleteProject({ name: 'projects/bound' }))).toMatchObject({
      code: Code.FailedPrecondition,
      reason: 'PROJECT_IN_USE',
      metadata: { resource: 'projects/bound', credentials: 'clients/web/credentials/edge-key' },
    });
    // A revoked credential no longer holds them.
    await credentials.revokeClientCredential({ name: 'clients/web/credentials/edge-key' });
    await admin.deleteEnvironment({ name: 'environments/edge' });
    await admin.deleteProject({ name: 'projects/bound' });
  });

  it('records each change in change_log for other replicas, and none for refusals or reads', async () => {
    const count = async () => Number((await server.app.database.db.selectFrom('change_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const start = await count();
    await admin.createProject({ projectId: 'logged', project: {} });
    await admin.updateProject({ project: { name: 'projects/logged', description: 'd' }, updateMask: { paths: ['description'] } });
    await admin.createEnvironment({ environmentId: 'logged', environment: {} });
    await admin.updateEnvironment({ environment: { name: 'environments/logged', production: true }, updateMask: { paths: ['production'] } });
    await admin.createFlag({ flagId: 'logged', flag: booleanFlag({ project: 'projects/logged', rules: [] }) });
    await admin.getFlag({ name: 'flags/logged' });
    await admin.listFlags({});
    await refusal(admin.createFlag({ flagId: 'logged', flag: booleanFlag() }));
    await refusal(admin.deleteProject({ name: 'projects/logged' }));
    await admin.deleteFlag({ name: 'flags/logged' });
    await admin.deleteProject({ name: 'projects/logged' });
    await admin.deleteEnvironment({ name: 'environments/logged' });
    const rows = await server.app.database.db
      .selectFrom('change_log')
      .select(['entity', 'entity_key'])
      .where('entity_key', '=', 'logged')
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => `${r.entity} ${r.entity_key}`)).toEqual([
      'project logged',
      'project logged',
      'environment logged',
      'environment logged',
      'flag logged',
      'flag logged',
      'project logged',
      'environment logged',
    ]);
    expect((await count()) - start).toBe(8);
  });

  describe('refuses every invalid definition with exact field violations, storing nothing', () => {
    const cases: Array<[string, FlagInit, Array<{ field: string; description: string }>]> = [
      [
        'an allocation naming an unknown variant',
        booleanFlag({ rules: [{ name: 'r', enabled: true, allocations: [{ variant: 'maybe', weight: 100 }] }] }),
        [{ field: 'flag.rules[0].allocations[0].variant', description: '"maybe" is not a variant of this flag' }],
      ],
      [
        'weights over 10000',
        booleanFlag({
          rules: [
            {
              name: 'r',
              enabled: true,
              allocations: [
                { variant: 'on', weight: 6000 },
                { variant: 'off', weight: 5000 },
              ],
            },
            { name: 's', enabled: true, allocations: [{ variant: 'on', weight: 10001 }] },
          ],
        }),
        [
          { field: 'flag.rules[0].allocations', description: 'weights sum to 11000 basis points; at most 10000 (100%)' },
          { field: 'flag.rules[1].allocations[0].weight', description: 'must be a whole number of basis points from 0 to 10000' },
        ],
      ],
      [
        'a rule naming an environment that does not exist',
        booleanFlag({ rules: [{ name: 'r', enabled: true, environments: ['staging', 'moon'], allocations: [{ variant: 'on', weight: 1 }] }] }),
        [{ field: 'flag.rules[0].environments[1]', description: 'environment "moon" does not exist' }],
      ],
      [
        'a value of the wrong kind',
        booleanFlag({ variants: [{ name: 'on', value: v('yes') }, { name: 'off', value: v(false) }] }),
        [{ field: 'flag.variants[0].value', description: 'a BOOLEAN flag needs a boolean value' }],
      ],
      [
        'a bad regular expression',
        booleanFlag({ rules: [{ name: 'r', enabled: true, conditions: [{ attribute: 'email', operator: Condition_Operator.MATCHES, values: [v('(unclosed')] }] }] }),
        [{ field: 'flag.rules[0].conditions[0].values[0]', description: 'not a valid regular expression: Invalid regular expression: /(unclosed/: Unterminated group' }],
      ],
      [
        'a bad semantic version',
        booleanFlag({ rules: [{ name: 'r', enabled: true, conditions: [{ attribute: 'app.version', operator: Condition_Operator.SEMVER_LESS_THAN, values: [v('1.x')] }] }] }),
        [{ field: 'flag.rules[0].conditions[0].values[0]', description: 'SEMVER_LESS_THAN needs a semantic version such as 1.2.3 or 2.0.0-beta.1' }],
      ],
      [
        'no kind',
        booleanFlag({ kind: Flag_Kind.UNSPECIFIED }),
        [{ field: 'flag.kind', description: 'required: one of BOOLEAN, STRING, NUMBER, OBJECT' }],
      ],
      [
        'an unknown kind and an unknown or missing operator',
        booleanFlag({
          kind: 9 as Flag_Kind,
          rules: [
            {
              name: 'r',
              enabled: true,
              conditions: [
                { attribute: 'a', operator: 42 as Condition_Operator, values: [v(1)] },
                { attribute: 'b', operator: Condition_Operator.UNSPECIFIED, values: [v(1)] },
              ],
            },
          ],
        }),
        [
          { field: 'flag.kind', description: 'unknown kind 9; expected one of BOOLEAN, STRING, NUMBER, OBJECT' },
          { field: 'flag.rules[0].conditions[0].operator', description: `unknown operator 42; expected one of ${OPERATORS.join(', ')}` },
          { field: 'flag.rules[0].conditions[1].operator', description: `required: one of ${OPERATORS.join(', ')}` },
        ],
      ],
      [
        'a variant without a value, a default that is no variant, duplicate names',
        booleanFlag({
          variants: [{ name: 'on' }, { name: 'on', value: v(true) }],
          defaultVariant: 'off',
          rules: [
            { name: 'r', enabled: true },
            { name: 'r', enabled: true, randomizationUnit: 'user..id' },
          ],
        }),
        [
          { field: 'flag.variants[0].value', description: 'required: a value (null, boolean, number, string, list or struct)' },
          { field: 'flag.variants[1].name', description: 'duplicate variant name "on"' },
          { field: 'flag.default_variant', description: '"off" is not a variant of this flag' },
          { field: 'flag.rules[1].name', description: 'duplicate rule name "r" (also rules[0])' },
          {
            field: 'flag.rules[1].randomization_unit',
            description: 'must be dot-separated segments of 1 to 64 letters, digits, "_" or "-", e.g. user.country',
          },
        ],
      ],
      [
        'an overlong description',
        booleanFlag({ description: 'x'.repeat(2049) }),
        [{ field: 'flag.description', description: 'must be at most 2048 characters' }],
      ],
    ];

    it.each(cases)('%s', async (_label, flag, violations) => {
      const before = await server.app.database.db.selectFrom('change_log').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
      const r = await refusal(admin.createFlag({ flagId: 'invalid', flag }));
      expect(r).toMatchObject({ code: Code.InvalidArgument, reason: 'INVALID_ARGUMENT' });
      expect(r.fieldViolations).toEqual(violations);
      expect(await refusal(admin.getFlag({ name: 'flags/invalid' }))).toMatchObject({ code: Code.NotFound });
      const after = await server.app.database.db.selectFrom('change_log').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
      expect(after?.seq).toBe(before?.seq);
    });

    it('the same problems refuse an update, leaving the flag unchanged', async () => {
      const current = await admin.getFlag({ name: 'flags/dark-mode' });
      for (const [, flag, violations] of cases) {
        const r = await refusal(admin.updateFlag({ flag: { ...flag, name: 'flags/dark-mode' }, updateMask: { paths: ['*'] } }));
        expect(r).toMatchObject({ code: Code.InvalidArgument });
        expect(r.fieldViolations).toEqual(violations);
      }
      expect(await admin.getFlag({ name: 'flags/dark-mode' })).toEqual(current);
    });

    it('a number that is not finite (possible in the binary encoding)', async () => {
      const binary = createClient(
        FlagAdminService,
        createConnectTransport({
          baseUrl: server.baseUrl,
          httpVersion: '1.1',
          useBinaryFormat: true,
          interceptors: [(next) => (req) => (req.header.set('authorization', `Bearer ${token}`), next(req))],
        }),
      );
      const nan = create(ValueSchema, { kind: { case: 'numberValue', value: Number.NaN } });
      const r = await refusal(
        binary.createFlag({
          flagId: 'invalid',
          flag: { kind: Flag_Kind.NUMBER, variants: [{ name: 'n', value: nan }, { name: 'cfg', value: v(1) }], defaultVariant: 'n' },
        }),
      );
      expect(r.fieldViolations).toEqual([{ field: 'flag.variants[0].value', description: 'numbers must be finite' }]);
      expect(await refusal(admin.getFlag({ name: 'flags/invalid' }))).toMatchObject({ code: Code.NotFound });
    });
  });
});
