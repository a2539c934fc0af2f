// `node --import ./without-hsm-adapter.mjs`: this process sees @sigil/hsm-adapter as if it were
// not installed (Node's ERR_MODULE_NOT_FOUND for its name), or, with
// SIGIL_TEST_HSM_ADAPTER=broken, installed but failing to load (it imports a package that is not
// installed, as an adapter whose native addon is missing would), to test the server without its
// optional peer.
import { register } from 'node:module';

const broken = process.env['SIGIL_TEST_HSM_ADAPTER'] === 'broken';
const hook = `
const broken = ${JSON.stringify(broken)};
export async function resolve(specifier, context, next) {
  if (specifier === '@sigil/hsm-adapter' || specifier.startsWith('@sigil/hsm-adapter/')) {
    if (broken) return { url: 'data:text/javascript,import "sigil-test-package-that-is-not-installed";', shortCircuit: true };
    const error = new Error("Cannot find package '@sigil/hsm-adapter'");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
