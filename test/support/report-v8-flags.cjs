// Preloaded (node --require) into a process entry point by test/ops/heap-growth.test.ts: the first V8
// flag the process sets is printed and the process exits, before it opens anything.
const v8 = require('node:v8');
v8.setFlagsFromString = (flags) => {
  process.stdout.write(`v8 flags: ${flags}\n`, () => process.exit(0));
};
require('node:module').syncBuiltinESMExports();
