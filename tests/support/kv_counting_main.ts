/**
 * Runs `main.ts` with every `Deno.openKv` of the process counted: each open
 * prints `kv-open <path>` on stderr before it happens. For the test that one
 * process holds one handle of the call store's file (tests/store_kv_process_test.ts).
 *
 * @module
 */
const open = Deno.openKv;
Object.defineProperty(Deno, "openKv", {
  value: (path?: string) => {
    console.error(`kv-open ${path ?? "(default)"}`);
    return open(path);
  },
});
const { main } = await import("../../main.ts");
const code = await main();
if (code !== 0) Deno.exit(code);
