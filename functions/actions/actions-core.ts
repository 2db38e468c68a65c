/**
 * @segment/actions-core, loaded as CommonJS: its ESM build does not load in plain Node (a directory
 * import). In segmentio/action-destinations the definition imports it normally; here the runtime
 * values come through createRequire and the types through a type-only import.
 */
import { createRequire } from 'node:module';
import type * as ActionsCore from '@segment/actions-core';

const require = createRequire(import.meta.url);
export const actionsCore = require('@segment/actions-core') as typeof ActionsCore;
