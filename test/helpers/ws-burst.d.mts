// Types of ws-burst.mjs for the TypeScript tests.
export function burstMessage(seed: number, i: number, min: number, max: number): { bytes: Uint8Array; binary: boolean }
