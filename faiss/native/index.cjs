// The compiled addon. Only faiss/native.ts loads this module.
module.exports = require('./build/Release/faiss_addon.node');
