/** Bundles `entry` (relative to the repository) into build/`name`.mjs and returns the output's path (see ./bundle.mjs). */
export function bundle(entry: string, name: string): Promise<string>;
