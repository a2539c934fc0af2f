// @sigil/sdk/node: the parts of the SDK that need Node built-ins (node:fs). Browsers never import
// this entry point; everything else is in the root entry and its other subpaths.
export { FileClientStateStore } from './directory/file-state-store.js';
