/** The permissions `deno task start` runs the server with (the dev runner and the test harness use the same). */
export const START_PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-ffi",
  "--allow-sys",
];
