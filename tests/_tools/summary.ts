// Reads deno test's JUnit report and prints the closing line CI counts:
// "N passed, N failed, N skipped" (static check results are added in).
const [file, prePassed = "0", preFailed = "0"] = Deno.args;
let xml = "";
try {
  xml = await Deno.readTextFile(file!);
} catch {
  console.log("test report missing: deno test did not finish");
}
let passed = Number(prePassed);
let failed = Number(preFailed) + (xml ? 0 : 1);
let skipped = 0;
for (
  const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)
) {
  const body = m[2] ?? "";
  if (/<failure\b|<error\b/.test(body)) failed++;
  else if (/<skipped\b/.test(body)) skipped++;
  else passed++;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
Deno.exit(failed > 0 ? 1 : 0);
