// A TypeScript client generated from the served OpenAPI document drives a
// provisioning portal's whole flow (issue 13 §4): openapi-typescript
// generates `paths` from the document, tsc type-checks the portal
// (test/vpn/portal/flow.ts) against them, and the compiled portal runs
// against the vpn service through openapi-fetch; every response it gets is
// checked against the document (status, content type, body schema, headers).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { projectRoot } from '../../services/common/project-root.js';
import { ResponseConformance, type OpenApiDocument } from './openapi-conformance.js';
import { startVpnHarness, type VpnHarness } from './support.js';

const run = promisify(execFile);

interface PortalModule {
  provisioningPortal(options: {
    baseUrl: string;
    token: string;
    observe: { onResponse(args: { request: Request; response: Response; schemaPath: string }): Promise<undefined> };
  }): Promise<{ listedNodes: string[]; nodePages: number; sitePages: number }>;
}

/** Strict, as the project compiles; emits next to the sources, inside dist/ so node_modules resolves. */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    rootDir: '.',
    outDir: '.',
  },
  files: ['api.ts', 'flow.ts'],
};

describe('a portal on a client generated from the OpenAPI document', () => {
  let h: VpnHarness;
  let dir: string;
  before(async () => {
    h = await startVpnHarness();
    dir = await mkdtemp(join(projectRoot(), 'dist', 'test', 'vpn', 'portal-client-'));
  });
  after(async () => {
    await h?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('generates, type-checks, and runs create, pages, If-Match, dry runs and deletes; every response as documented', async () => {
    const served = await h.call('GET', '/docs/openapi.json', { token: null });
    assert.equal(served.status, 200);
    const doc = served.body as OpenApiDocument;

    // The same schemas describe what a client sends and what it gets: a field with a default is optional to send.
    await writeFile(join(dir, 'api.ts'), astToString(await openapiTS(doc as never, { defaultNonNullable: false })));
    await copyFile(join(projectRoot(), 'test/vpn/portal/flow.ts'), join(dir, 'flow.ts'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    const tsc = join(projectRoot(), 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', dir], { timeout: 120_000 }).catch((err: { stdout?: string; message: string }) => {
      throw new Error(`the portal does not compile against the generated client:\n${err.stdout ?? err.message}`);
    });

    const conformance = new ResponseConformance(doc);
    const violations: string[] = [];
    const statuses = new Set<number>();
    let responses = 0;
    const observe = {
      async onResponse({ request, response, schemaPath }: { request: Request; response: Response; schemaPath: string }) {
        responses++;
        statuses.add(response.status);
        const body = await response.clone().text();
        violations.push(...conformance.check({ method: request.method, path: schemaPath, status: response.status, headers: response.headers, body }));
        return undefined;
      },
    };
    const portal = (await import(pathToFileURL(join(dir, 'flow.js')).href)) as PortalModule;
    const result = await portal.provisioningPortal({ baseUrl: h.base, token: h.tokens.admin, observe });

    assert.deepEqual(violations, [], 'every response is what the document declares');
    assert.deepEqual(result.listedNodes, ['p1', 'pe1', 'pe2', 'pe3']);
    assert.equal(result.nodePages, 4, 'one node a page');
    assert.equal(result.sitePages, 2, 'three sites, two a page');
    assert.ok(responses > 40, `${responses} responses checked`);
    assert.deepEqual([...statuses].sort((a, b) => a - b), [200, 201, 204, 304, 400, 401, 404, 409, 412, 422]);
  });
});
