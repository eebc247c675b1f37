// `npm start`'s entry: sizes libuv's thread pool, then runs the server (index.ts).
// The pool decodes every upload (sharp). Its default, 4 threads, ran four decodes at once beside
// the inference threads on a 2-core machine, and each cost more CPU: 2.19-2.35 ms per 224 px
// JPEG against 1.95-2.0 with 2 threads (4 and 8 decodes in flight). One thread per core then,
// at least 2 so file I/O never waits behind a single decode; UV_THREADPOOL_SIZE set by the user wins.
// CommonJS because libuv reads the size when the pool first starts, and loading an ES module
// entry already starts it: this file sets it first, then imports the server.
import os = require('node:os');

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(2, os.availableParallelism()));

import('./index.js').catch((error: unknown) => {
  console.error('start-up failed', error);
  process.exit(1);
});
