'use strict';
// CommonJS entry of lowrank (package.json "exports" condition "require"). lowrank is an ES module:
// on Node >= 20.19 / 22.12 require() loads it (Node's require(esm)); on older Node, or when the module
// graph cannot load synchronously, this throws an Error that says how to load it with import().
const HELP =
  "lowrank is an ES module (ESM-only) and this Node cannot require() it. From CommonJS, load it with a dynamic import: `const lr = await import('lowrank')` (inside an async function), or use Node >= 20.19 or >= 22.12, whose require() loads ES modules.";
try {
  module.exports = require('../dist/index.js');
} catch (e) {
  if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    const err = new Error(HELP, { cause: e });
    err.code = e.code;
    throw err;
  }
  throw e;
}
