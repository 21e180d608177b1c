'use strict';
// osls resolves `${file(./deploy/resolvers.cjs):<name>}` by require()-ing a .js or .cjs file only: this
// shim hands it the typed module (Node 24 strips the types; CommonJS may require an ES module).
module.exports = { ...require('./resolvers.ts') };
