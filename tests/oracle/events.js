// The official Node SDK as an oracle for what it sends to VWO: for each settings file,
// `init()` it offline with a network client of our own, run the group's calls (`getFlag`,
// `trackEvent`, `setAttribute`) one at a time, and capture every request the client is given,
// as the SDK's real client would put it on the wire (`RequestModel.getOptions()`).
//
//   node events.js <folder holding node_modules> <input.json>
//
// input.json: {"groups": [{"settings": {..}, "batch": bool, "calls": [
//   {"call": "getFlag", "featureKey": "..", "context": {..}} |
//   {"call": "trackEvent", "eventName": "..", "context": {..}, "properties": {..}} |
//   {"call": "setAttribute", "attributes": {..}, "context": {..}}]}]}
// Prints {"groups": [[request, ..], ..]}, a request being {path, headers, body}: without
// batching, the requests each call made, in order; with it, the batches `flushEvents()` sent.
// Only events are kept: the SDK's own log and debugger events (`vwo_log`, ..) are left out.
'use strict';

const { sdk, input, ok, silent } = require('./sdk');

const INTERNAL = new Set(['vwo_log', 'vwo_sdkDebug', 'vwo_debuggerEvent', 'vwo_sdkInitCalled', 'vwo_sdkUsageStats']);

let sent = [];
const answer = (request) => {
  const options = request.getOptions();
  const en = /[?&]en=([^&]*)/.exec(options.path);
  if (!en || !INTERNAL.has(en[1])) {
    const body = JSON.parse(JSON.stringify(request.getBody() || null));
    if (body && Array.isArray(body.ev)) {
      body.ev = body.ev.filter((e) => !INTERNAL.has(e && e.d && e.d.event && e.d.event.name));
    }
    const headers = {};
    for (const [name, value] of Object.entries(options.headers || {})) {
      if (name.toLowerCase() !== 'content-length') headers[name.toLowerCase()] = String(value);
    }
    sent.push({ path: options.path, headers, body });
  }
  return ok();
};
const client = { GET: answer, POST: answer };
// Node 1.60 sends a decision's batch a few promise turns after `getFlag` answers.
const settle = () => new Promise((resolve) => setTimeout(() => setImmediate(resolve), 1));

async function main() {
  const groups = [];
  // Without batching first: the SDK keeps its batch queue in a singleton once it has one.
  const order = input.groups.map((g, i) => i).sort((a, b) => input.groups[a].batch - input.groups[b].batch);
  const results = new Array(input.groups.length);
  for (const index of order) {
    const group = input.groups[index];
    const settings = { ...group.settings, sdkMetaInfo: { wasInitializedEarlier: true } };
    const options = {
      accountId: String(settings.accountId),
      sdkKey: 'oracle-sdk-key',
      settings,
      network: { client },
      isUsageStatsDisabled: true,
      logger: silent,
    };
    if (group.batch) options.batchEventData = { eventsPerRequest: 5000, requestTimeInterval: 100000 };
    // Node 1.42 and later batch unless told not to.
    else options.isBatchingDisabled = true;
    const vwo = await sdk.init(options);
    await settle();
    sent = [];
    const requests = [];
    for (const call of group.calls) {
      const context = JSON.parse(JSON.stringify(call.context));
      if (call.call === 'getFlag') await vwo.getFlag(call.featureKey, context);
      else if (call.call === 'trackEvent') await vwo.trackEvent(call.eventName, context, call.properties);
      else await vwo.setAttribute(call.attributes, context);
      await settle();
      if (!group.batch) {
        requests.push(sent);
        sent = [];
      }
    }
    if (group.batch) {
      await vwo.flushEvents();
      await settle();
      requests.push(sent.filter((r) => r.body && Array.isArray(r.body.ev) && r.body.ev.length > 0));
      sent = [];
    }
    results[index] = requests;
  }
  groups.push(...results);
  process.stdout.write(JSON.stringify({ groups }), () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`oracle: ${error && error.stack ? error.stack : error}\n`);
  process.exit(2);
});
