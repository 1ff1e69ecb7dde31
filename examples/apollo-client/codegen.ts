// Types for the operations in src/operations.ts, generated from the checked-in SDL, and the
// trusted-documents manifest the server loads (TRUSTED_DOCUMENTS).
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/operations.ts"],
  ignoreNoDocuments: false,
  // ES module imports with their .js extension (tsconfig: NodeNext).
  emitLegacyCommonJSImports: false,
  config: {
    scalars: { DateTime: "string" },
    enumsAsTypes: true,
    avoidOptionals: { field: true, inputValue: false, object: true },
  },
  generates: {
    // Every type of the schema (objects, inputs, enums), for code that needs them.
    "src/__generated__/schema.ts": { plugins: ["typescript"] },
    // The operations' result and variables types. typescript-operations >= 5 emits the
    // enums and inputs the operations use by itself, so it gets a file of its own.
    "src/__generated__/types.ts": { plugins: ["typescript-operations"] },
    // The client preset's persisted documents: client/persisted-documents.json maps the
    // SHA-256 of each operation (fragments included) to its text. Apollo's cache adds
    // __typename to what it sends, so the manifest's documents carry it too.
    "src/__generated__/client/": {
      preset: "client",
      presetConfig: {
        persistedDocuments: { hashAlgorithm: "sha256" },
        fragmentMasking: false,
      },
      documentTransforms: [addTypenameSelectionDocumentTransform],
    },
  },
};

export default config;
