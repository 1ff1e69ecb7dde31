// Types for the operations in src/operations.ts, generated from the checked-in SDL.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/operations.ts"],
  ignoreNoDocuments: false,
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
  },
};

export default config;
