// /docs: the OpenAPI document and a small page listing the operations. The
// page needs no assets from the internet (air-gapped sites read it too).
import type { FastifyInstance } from 'fastify';
import { PROBLEM_TYPES } from './problem.js';

/** The operations' groups; the contract refuses a route whose tag is not here. */
export const TAGS = [
  { name: 'nodes', description: 'Managed nodes (RFC 9182 vpn-node hosts): PEs that hold VRFs and P routers that only carry transport, each with a forwarding agent.' },
  { name: 'links', description: 'Core links between nodes: the segment-routing transport paths run over them.' },
  { name: 'vpns', description: 'Customer VPNs (RFC 8299 vpn-service): topology, route targets, route distinguisher, label mode.' },
  { name: 'sites', description: 'Customer sites and their attachment to a PE (RFC 8299 site with one site-network-access).' },
  { name: 'vrfs', description: 'VRFs, derived from the sites (one per VPN per PE), with the routes the bgp service selected: read-only.' },
  { name: 'tokens', description: 'API tokens and their scopes (read < write < admin); admins only.' },
];

/**
 * `servers` of the document: the configured public URL (behind a load
 * balancer or ingress), else `/`, the origin the document was fetched from.
 */
export function serversOf(publicUrl: string): { url: string; description: string }[] {
  if (!publicUrl) return [{ url: '/', description: 'this server (the origin the document was read from)' }];
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    throw new Error(`vpn.public-url '${publicUrl}' is not an absolute URL`);
  }
  if (!/^https?:$/.test(url.protocol) || url.search || url.hash || url.username) {
    throw new Error(`vpn.public-url '${publicUrl}' must be an http(s) URL without query, fragment or credentials`);
  }
  return [{ url: url.href.replace(/\/+$/, ''), description: 'the public URL of this API (vpn.public-url)' }];
}

/** The document's fixed parts for @fastify/swagger; the operations come from the routes. */
export function documentOptions(publicUrl: string) {
  return {
    openapi: '3.0.3',
    info: {
      title: 'l3vpn provisioning API',
      version: '1',
      description:
        'Intent for BGP/MPLS IP VPNs (RFC 4364) in the vocabulary of RFC 8299 / RFC 9182: nodes, links, VPNs, sites; VRFs are derived. Errors are RFC 9457 problem details; lists page with an opaque `cursor`.',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    servers: serversOf(publicUrl),
    components: { securitySchemes: { bearer: { type: 'http' as const, scheme: 'bearer', description: 'an API token: `l3vpn token create`, or POST /v1/tokens' } } },
    security: [{ bearer: [] }],
    tags: TAGS,
  };
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>l3vpn API</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}code{background:#f3f3f3;padding:0 .2em}
.op{margin:.3em 0}.m{display:inline-block;width:4.5em;font-weight:bold}.get{color:#1a7f37}.post{color:#0969da}.put,.patch{color:#9a6700}.delete{color:#cf222e}
details{margin:.2em 0 .2em 5em}pre{background:#f6f8fa;padding:.5em;overflow:auto}</style></head>
<body><h1>l3vpn provisioning API</h1>
<p>OpenAPI 3 document: <a href="/docs/openapi.json"><code>/docs/openapi.json</code></a>. Every <code>/v1</code> call needs <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<div id="ops">loading…</div>
<script>
fetch('/docs/openapi.json').then(r=>r.json()).then(doc=>{
  const out=[];
  for(const [path,item] of Object.entries(doc.paths)) for(const [m,op] of Object.entries(item)){
    const body=op.requestBody?JSON.stringify(op.requestBody.content['application/json']?.schema??{},null,1):'';
    out.push('<div class="op"><span class="m '+m+'">'+m.toUpperCase()+'</span><code>'+path+'</code> '+(op.summary||'')+
      (op.description?'<br><small style="margin-left:5.3em">'+op.description+'</small>':'')+
      (body?'<details><summary>request body</summary><pre>'+body.replace(/</g,'&lt;')+'</pre></details>':'')+'</div>');
  }
  document.getElementById('ops').innerHTML=out.join('');
});
</script></body></html>`;

export function registerDocsRoutes(app: FastifyInstance): void {
  app.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  app.get('/problems/:type', { schema: { hide: true } }, async (request, reply) => {
    const t = PROBLEM_TYPES[(request.params as { type: string }).type];
    if (!t) return reply.code(404).type('text/plain').send('no such problem type\n');
    return reply.type('text/plain; charset=utf-8').send(`${t.status} ${t.title}\n\n${t.about}\n`);
  });
}
