// The official Node SDK's `getFlag`, timed: for the benchmark that compares it with the Rust
// evaluator on the same settings and cases.
//
//   node bench.js <folder holding node_modules> <input.json>
//
// input.json: {"settings": {..}, "cases": [{"featureKey": "..", "context": {..}}], "rounds": n}
// Prints {"p50_ns", "p99_ns", "per_second"} over every getFlag of every round (one at a
// time, awaited, as a request handler would call it).
'use strict';

const { sdk, input, ok } = require('./sdk');

async function main() {
  const settings = { ...input.settings, sdkMetaInfo: { wasInitializedEarlier: true } };
  const vwo = await sdk.init({
    accountId: String(settings.accountId),
    sdkKey: 'bench-sdk-key',
    settings,
    network: { client: { GET: ok, POST: ok } },
    isUsageStatsDisabled: true,
    logger: { level: 'ERROR', transport: { level: 'ERROR', log: () => {} } },
  });
  const contexts = input.cases.map((c) => c.context);
  // Warm up the JIT.
  for (const c of input.cases.slice(0, 2000)) await vwo.getFlag(c.featureKey, { ...c.context });
  const times = [];
  const started = process.hrtime.bigint();
  for (let round = 0; round < input.rounds; round++) {
    for (let i = 0; i < input.cases.length; i++) {
      const context = { ...contexts[i] };
      const t0 = process.hrtime.bigint();
      await vwo.getFlag(input.cases[i].featureKey, context);
      times.push(Number(process.hrtime.bigint() - t0));
    }
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  const result = { p50_ns: at(0.5), p99_ns: at(0.99), per_second: times.length / elapsed };
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`bench: ${error && error.stack ? error.stack : error}\n`);
  process.exit(2);
});
