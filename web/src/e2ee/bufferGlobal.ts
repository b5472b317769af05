/**
 * davey's WebAssembly glue (emnapi) makes Node-style Buffers: the global must exist before davey's
 * module is evaluated. The worker imports this first and loads davey with a dynamic import after.
 */
import { Buffer } from 'buffer';

const scope = globalThis as { Buffer?: unknown };
scope.Buffer ??= Buffer;
