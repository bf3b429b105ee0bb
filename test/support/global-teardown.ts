/** Jest global teardown. Nothing to do yet: every test drops the databases it creates. */
export default async function globalTeardown(): Promise<void> {}
