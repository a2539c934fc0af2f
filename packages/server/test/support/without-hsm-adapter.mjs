// `node --import ./without-hsm-adapter.mjs`: this process resolves @sigil/hsm-adapter as Node does
// when the package is not installed (ERR_MODULE_NOT_FOUND), to test the server without its
// optional peer.
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  if (specifier === '@sigil/hsm-adapter' || specifier.startsWith('@sigil/hsm-adapter/')) {
    const error = new Error("Cannot find package '@sigil/hsm-adapter'");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
