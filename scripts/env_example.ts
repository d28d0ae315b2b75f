/** Writes `.env.example` from schema/env.ts (`deno task env-example`). */
import { renderEnvExample } from "../schema/env_docs.ts";

await Deno.writeTextFile(new URL("../.env.example", import.meta.url), renderEnvExample());
console.log("wrote .env.example");
