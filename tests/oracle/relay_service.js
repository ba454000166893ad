// A service using the official Node SDK through the relay (crates/vwo-webhook-relay/tests/sdks.rs):
// `init()` with `gatewayService` pointed at the relay, a webhook handler like the one VWO's docs
// show (it calls `updateSettings()`), and the SDK's calls on command.
//
//   node relay_service.js <install folder> <gateway URL> <account id> <SDK key> <webhook port> <webhook key>
//
// Standard input: one JSON command a line, each with a `user` and an optional `ua` and `ip`
// (the visitor's user agent and IP address): {"op": "getFlag", "feature", "user"} |
// {"op": "trackEvent", "event", "user", "properties"} | {"op": "setAttribute", "attributes", "user"}.
// Standard output: one JSON answer a line; the first, {"ready": true}, once init and the
// webhook handler are up. getFlag answers {enabled, int, updates}: `int` is the flag's
// variable of that name, `updates` how many webhook calls updated the settings.
'use strict';

const http = require('http');
const path = require('path');
const readline = require('readline');

require('./guard');
process.on('unhandledRejection', () => {});

const [root, gateway, accountId, sdkKey, port, hookKey] = process.argv.slice(2);
const sdk = require(path.join(path.resolve(root), 'node_modules', 'vwo-fme-node-sdk'));
const out = (value) => process.stdout.write(JSON.stringify(value) + '\n');

async function main() {
  const vwo = await sdk.init({
    accountId,
    sdkKey,
    gatewayService: { url: gateway },
    logger: { level: 'ERROR', transport: { level: 'ERROR', log: () => {} } },
  });
  let updates = 0;
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', async () => {
      if (request.headers['x-vwo-auth'] !== hookKey) {
        response.writeHead(401);
        response.end();
        return;
      }
      await vwo.updateSettings();
      updates += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(Number(port), '127.0.0.1', resolve));
  out({ ready: true });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const command = JSON.parse(line);
    const context = { id: command.user };
    if (command.ua) context.userAgent = command.ua;
    if (command.ip) context.ipAddress = command.ip;
    if (command.op === 'getFlag') {
      const flag = await vwo.getFlag(command.feature, context);
      out({ enabled: flag.isEnabled(), int: flag.getVariable('int', null), updates });
    } else if (command.op === 'trackEvent') {
      await vwo.trackEvent(command.event, context, command.properties || {});
      out({ ok: true });
    } else if (command.op === 'setAttribute') {
      await vwo.setAttribute(command.attributes, context);
      out({ ok: true });
    }
  }
  server.close();
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error) + '\n');
  process.exit(1);
});
