// Preloaded (node --require) into a process entry point by test/ops/heap-growth.test.ts: the node
// options the process was started with and the first V8 flag it sets are printed, and the process
// exits there, before it opens anything.
const v8 = require('node:v8');
v8.setFlagsFromString = (flags) => {
  process.stdout.write(`exec argv: ${process.execArgv.join(' ')}\nv8 flags: ${flags}\n`, () => process.exit(0));
};
require('node:module').syncBuiltinESMExports();
