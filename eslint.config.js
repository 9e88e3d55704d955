// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const noSuperRefine = {
  selector: "CallExpression[callee.property.name='superRefine']",
  message:
    "Use .refine (one per rule, with path): zod's superRefine kept every parsed request body alive through V8's minor GCs (see cdsRequestSchema in src/hooks/schemas.ts).",
};

export default tseslint.config(
  {
    // *.mjs: plain-JS child-process helpers of the tests, outside the TypeScript project;
    // .dependency-cruiser.cjs: the import-rule config, read by depcruise, not compiled.
    ignores: [
      "dist/**",
      "node_modules/**",
      "data/**",
      "coverage/**",
      "eslint.config.js",
      "**/*.mjs",
      ".dependency-cruiser.cjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "no-restricted-syntax": ["error", noSuperRefine],
    },
  },
  {
    // The product's own servers: an express app is served by createAppServer, never app.listen.
    files: ["src/**/*.ts", "cds-services/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        noSuperRefine,
        {
          selector: "CallExpression[callee.property.name='listen'][callee.object.name='app']",
          message:
            "Serve an express app with createAppServer(app).listen(...) (src/http/server.ts): app.listen makes express move every request and response onto its prototypes, about 0.2 ms of CPU per large request.",
        },
      ],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "bench/**/*.ts", "scripts/**"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
);
