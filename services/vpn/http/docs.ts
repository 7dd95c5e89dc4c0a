// /docs: the OpenAPI document and a small page listing the operations. The
// page needs no assets from the internet (air-gapped sites read it too).
import type { FastifyInstance } from 'fastify';
import { PROBLEM_TYPES } from './problem.js';

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
