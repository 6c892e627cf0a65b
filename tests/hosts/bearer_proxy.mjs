// A pass-through HTTP proxy that adds `Authorization: Bearer TOKEN` to every request and
// changes nothing else (Host and Origin go through as sent). The MCP conformance suite has no
// way to send a bearer, and hosted crmgate refuses every request without one; behind this
// proxy the suite's scenarios reach the MCP layer — and its DNS-rebinding scenario still sees
// crmgate's own Host and Origin checks.
//
//   node bearer_proxy.mjs LISTEN_PORT TARGET_PORT TOKEN
//
// Prints "listening PORT" once ready. Bound to 127.0.0.1 only.

import http from "node:http";

const [listenPort, targetPort, token] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${token}` };
  const upstream = http.request(
    { host: "127.0.0.1", port: Number(targetPort), method: req.method, path: req.url, headers },
    (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    },
  );
  upstream.on("error", (e) => {
    res.writeHead(502, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "PROXY", message: String(e) } }));
  });
  req.pipe(upstream);
});
server.listen(Number(listenPort), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
