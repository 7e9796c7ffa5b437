// Reads deno test's JUnit reports and prints the closing line CI counts:
// "N passed, N failed, N skipped" (static check results are added in).
const [prePassed = "0", preFailed = "0", ...files] = Deno.args;
let passed = Number(prePassed);
let failed = Number(preFailed);
let skipped = 0;
for (const file of files) {
  let xml: string;
  try {
    xml = await Deno.readTextFile(file);
  } catch {
    continue;
  }
  for (
    const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)
  ) {
    const body = m[2] ?? "";
    if (/<failure\b|<error\b/.test(body)) failed++;
    else if (/<skipped\b/.test(body)) skipped++;
    else passed++;
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
Deno.exit(failed > 0 ? 1 : 0);
