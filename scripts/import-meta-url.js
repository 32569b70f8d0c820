// Injected into the CommonJS bundle (scripts/build.mjs): what `import.meta.url` means in src/.
export const import_meta_url = require('node:url').pathToFileURL(__filename).href;
