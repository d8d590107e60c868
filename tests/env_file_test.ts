import assert from "node:assert/strict";
import { loadEnvFile } from "../src/config/mod.ts";

/** Writes `content` to a temporary file, runs `fn` with its path, then removes it. */
async function withTempFile(content: string, fn: (path: string) => void): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".env" });
  try {
    await Deno.writeTextFile(path, content);
    fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("loadEnvFile() lets the real environment win over the file", async () => {
  await withTempFile("PORT=1111\nVOICE=marin\n", (path) => {
    const env = loadEnvFile({ path, env: { PORT: "2222", LOG_LEVEL: "debug" } });
    assert.deepEqual(env, { PORT: "2222", VOICE: "marin", LOG_LEVEL: "debug" });
  });
});

Deno.test("loadEnvFile() keeps an empty real value over the file", async () => {
  await withTempFile("GREETING=Hello\n", (path) => {
    assert.deepEqual(loadEnvFile({ path, env: { GREETING: "" } }), { GREETING: "" });
  });
});

Deno.test("loadEnvFile() returns a copy of the environment when the file is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const env = { PORT: "8080" };
    const result = loadEnvFile({ path: `${dir}/does-not-exist.env`, env });
    assert.deepEqual(result, { PORT: "8080" });
    assert.notEqual(result, env);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("loadEnvFile() treats an ENOENT error from readTextFile as a missing file", () => {
  const result = loadEnvFile({
    env: { A: "1" },
    readTextFile: () => {
      throw Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
    },
  });
  assert.deepEqual(result, { A: "1" });
});

Deno.test("loadEnvFile() parses comments, quotes and export prefixes", async () => {
  const content = [
    "# A comment line",
    "OPENAI_API_KEY=sk-test-123",
    'COMPANY_NAME="Blue Harbor Homes" # trailing comment',
    "GREETING='Hi # not a comment'",
    "export VOICE=marin",
    "  PORT = 8080  ",
    'SYSTEM_MESSAGE="Line one\\nLine two"',
    "EMPTY=",
    "",
  ].join("\n");
  await withTempFile(content, (path) => {
    assert.deepEqual(loadEnvFile({ path, env: {} }), {
      OPENAI_API_KEY: "sk-test-123",
      COMPANY_NAME: "Blue Harbor Homes",
      GREETING: "Hi # not a comment",
      VOICE: "marin",
      PORT: "8080",
      SYSTEM_MESSAGE: "Line one\nLine two",
      EMPTY: "",
    });
  });
});

Deno.test("loadEnvFile() reads .env in the working directory by default", () => {
  const paths: string[] = [];
  const env = loadEnvFile({
    env: {},
    readTextFile: (path) => {
      paths.push(path);
      return "X=1";
    },
  });
  assert.deepEqual(paths, [".env"]);
  assert.deepEqual(env, { X: "1" });
});

Deno.test("loadEnvFile() uses Deno.env by default", () => {
  const name = "ENV_FILE_TEST_REAL_VARIABLE";
  Deno.env.set(name, "from-real-env");
  try {
    const env = loadEnvFile({ readTextFile: () => `${name}=from-file\nONLY_IN_FILE_XYZ=yes` });
    assert.equal(env[name], "from-real-env");
    assert.equal(env.ONLY_IN_FILE_XYZ, "yes");
  } finally {
    Deno.env.delete(name);
  }
});

Deno.test("loadEnvFile() throws a helpful error when the file cannot be read", () => {
  const cause = new Deno.errors.PermissionDenied("Permission denied (os error 13)");
  assert.throws(
    () =>
      loadEnvFile({
        path: "/srv/app/.env",
        env: {},
        readTextFile: () => {
          throw cause;
        },
      }),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(
        error.message,
        'Could not read the environment file "/srv/app/.env": Permission denied (os error 13). Make it readable (and run with --allow-read), or remove it and set the variables in the environment instead.',
      );
      assert.equal(error.cause, cause);
      return true;
    },
  );
});

Deno.test("loadEnvFile() throws when the path is a directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.throws(
      () => loadEnvFile({ path: dir, env: {} }),
      (error: unknown) => error instanceof Error && error.message.includes(JSON.stringify(dir)),
    );
  } finally {
    await Deno.remove(dir);
  }
});
