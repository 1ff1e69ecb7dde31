// Typed documents for every `graphql(...)` call in src/, generated from the checked-in SDL,
// and the trusted-documents manifest the server can load (TRUSTED_DOCUMENTS).
import type { CodegenConfig } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      // persisted-documents.json maps the SHA-256 of each operation (fragments included) to
      // its text. Apollo's cache adds __typename to what it sends, so the manifest's
      // documents carry it too.
      presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: "sha256" } },
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        scalars: { DateTime: "string" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
