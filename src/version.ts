/**
 * The firmware's version: `version` of package.json, copied here at build
 * time (`npm version` runs hosttest/tools/version.ts, and a test fails when
 * the two differ). The core cannot read package.json: XS on the device has
 * no file system, and mcconfig preloads this module into flash.
 */
export const VERSION = "0.1.0";
