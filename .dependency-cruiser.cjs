// The architecture rules `npm test` checks (docs/ARCHITECTURE.md, "Rules that keep it so"). A
// rule with exceptions lists each one by path, with the reason beside it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No module depends on itself through others: shared state is an object passed explicitly, never a module-level export that closes a loop.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'packages-meet-by-name',
      severity: 'error',
      comment: "A package reaches another only through its name and a public subpath (its package.json \"exports\"), never by a relative path into the other's folder.",
      from: {
        path: '^packages/([^/]+)/',
        pathNot: [
          // Exception: the PKCS#11 Wycheproof test turns the vectors' DER signatures into P1363 with
          // the sdk's own strict DER reader (the one the sdk's Wycheproof test proves), so that both
          // backends face the same accepted and refused inputs; a second reader could differ.
          '^packages/hsm-adapter/test/wycheproof-pkcs11\\.test\\.ts$',
        ],
      },
      to: { path: '^packages/', pathNot: '^packages/$1/', dependencyTypes: ['local'] },
    },
    {
      name: 'outsiders-use-public-names',
      severity: 'error',
      comment: "Root tests, scripts and examples use the packages as an app would: by name and public subpath, never a package's src/.",
      from: {
        path: '^(test|scripts|examples)/',
      },
      to: { path: '^packages/[^/]+/src/' },
    },
    {
      name: 'sdk-runs-in-browsers',
      severity: 'error',
      comment: 'The sdk runs in browsers: no native addon and no Node built-in outside its platform seam and its Node-only entry points.',
      from: {
        path: '^packages/sdk/src/',
        pathNot: [
          // The platform seam: package.json "imports" #platform picks node.ts under Node, web.ts elsewhere.
          '^packages/sdk/src/internal/platform/node\\.ts$',
          // `@sigil/sdk/node` (FileClientStateStore): an entry point browsers never import.
          '^packages/sdk/src/node\\.ts$',
          '^packages/sdk/src/directory/file-state-store\\.ts$',
        ],
      },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'sdk-imports-no-native-addon',
      severity: 'error',
      comment: 'Browser bundles must never pull in a native addon, nor the packages that load one.',
      from: { path: '^packages/sdk/' },
      to: { path: '(^|/)node_modules/(pkcs11js|better-sqlite3|@sigil/(hsm-adapter|server|cli))/' },
    },
    {
      name: 'sdk-depends-on-no-other-package',
      severity: 'error',
      comment: 'Dependencies point one way: cli, server and hsm-adapter may import the sdk; the sdk imports none of them.',
      from: { path: '^packages/sdk/src/' },
      to: { path: '^packages/(hsm-adapter|server|cli)/' },
    },
    {
      name: 'hsm-adapter-below-server-and-cli',
      severity: 'error',
      comment: 'The token adapter knows nothing of the directory or the command line.',
      from: { path: '^packages/hsm-adapter/src/' },
      to: { path: '^packages/(server|cli)/' },
    },
    {
      name: 'server-store-below-log',
      severity: 'error',
      comment: "The Store contract and its implementations sit below the log: the log uses the store, never the reverse.",
      from: { path: '^packages/server/src/store/' },
      to: { path: '^packages/server/src/(log|directory|http|cli)/' },
    },
    {
      name: 'resolvable',
      severity: 'error',
      comment: 'Every import resolves (a name outside a package\'s "exports" does not).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|test-output|coverage)/|\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    // Sources import './x.js' for './x.ts' (NodeNext); resolve packages through their "exports".
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['types', 'import', 'node', 'default'],
      mainFields: ['types', 'module', 'main'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
    skipAnalysisNotInRules: true,
  },
};
