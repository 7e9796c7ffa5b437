import {
  FileReadError,
  formatSize,
  readBoundedText,
} from "../../../core/fs/read_bounded.ts";
import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../../_tools/assert.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-read-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Fails the test instead of hanging it when `p` does not settle in time. */
async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung for ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function refusal(
  path: string,
  options: Parameters<typeof readBoundedText>[1] = {},
): Promise<FileReadError> {
  return await within(
    5000,
    assertRejects(() => readBoundedText(path, options), FileReadError),
  );
}

Deno.test("readBoundedText() reads a regular file and reports its mode and owner", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a.yaml`, "x: 1\n", { mode: 0o640 });
    await Deno.chmod(`${dir}/a.yaml`, 0o640);
    const got = await readBoundedText(`${dir}/a.yaml`);
    assertEquals(got.text, "x: 1\n");
    assertEquals(got.info, { mode: 0o640, uid: Deno.uid()!, size: 5 });
  });
});

Deno.test("readBoundedText() refuses a FIFO without blocking on it", async () => {
  await withDir(async (dir) => {
    const fifo = `${dir}/pipe`;
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assertEquals(mk.code, 0);
    const err = await refusal(fifo);
    assertEquals(err.reason, "not_regular");
    assertEquals(err.detail, "it is a FIFO (named pipe), not a regular file");
  });
});

Deno.test("readBoundedText() refuses devices and directories", async () => {
  for (const path of ["/dev/zero", "/dev/urandom", "/dev/null"]) {
    const err = await refusal(path);
    assertEquals(
      [err.reason, err.detail],
      ["not_regular", "it is a character device, not a regular file"],
      path,
    );
  }
  await withDir(async (dir) => {
    assertEquals(
      (await refusal(dir)).detail,
      "it is a directory, not a regular file",
    );
  });
});

Deno.test("readBoundedText() refuses a file over the limit and accepts one at it", async () => {
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/big`, new Uint8Array(1025).fill(0x61));
    const err = await refusal(`${dir}/big`, { maxBytes: 1024 });
    assertEquals(err.reason, "too_large");
    assertEquals(err.detail, "it is 1025 bytes, more than the limit of 1 KiB");
    await Deno.writeFile(`${dir}/ok`, new Uint8Array(1024).fill(0x61));
    const ok = await readBoundedText(`${dir}/ok`, { maxBytes: 1024 });
    assertEquals(ok.text.length, 1024);
    // The default limit is 1 MiB.
    await Deno.writeFile(`${dir}/huge`, new Uint8Array((1 << 20) + 1));
    assertStringIncludes((await refusal(`${dir}/huge`)).detail, "1 MiB");
  });
});

Deno.test("readBoundedText() reads a file past its first buffer whole, byte for byte", async () => {
  await withDir(async (dir) => {
    // 300 KiB of varied text: larger than the first 64 KiB buffer, so the
    // read grows the buffer several times.
    const text = Array.from(
      { length: 300 * 1024 },
      (_, i) => String.fromCharCode(0x61 + (i * 7) % 26),
    ).join("");
    await Deno.writeTextFile(`${dir}/large`, text);
    const got = await readBoundedText(`${dir}/large`, { maxBytes: 1 << 20 });
    assertEquals(got.text.length, text.length);
    assertEquals(got.text === text, true);
    // /proc files report size 0: the buffer grows from the smallest start.
    const maps = await readBoundedText("/proc/self/status");
    assertStringIncludes(maps.text, "VmRSS");
  });
});

Deno.test("readBoundedText() reads at most the limit from a file whose size lies", async () => {
  // /proc files report size 0 yet have content: only the read itself bounds them.
  const err = await refusal("/proc/self/maps", { maxBytes: 16 });
  assertEquals(err.reason, "too_large");
  assertEquals(
    err.detail,
    "it grew past the limit of 16 bytes while being read",
  );
});

Deno.test("readBoundedText() follows a symlink only when allowed", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/real`, "k: v\n");
    await Deno.symlink(`${dir}/real`, `${dir}/link`);
    assertEquals((await readBoundedText(`${dir}/link`)).text, "k: v\n");
    const err = await refusal(`${dir}/link`, { noFollow: true });
    assertEquals(err.reason, "symlink");
  });
});

Deno.test("readBoundedText() names missing files and non-text content", async () => {
  await withDir(async (dir) => {
    assertEquals((await refusal(`${dir}/none`)).reason, "missing");
    await Deno.writeFile(`${dir}/bin`, new Uint8Array([0xff, 0xfe, 0x00]));
    const err = await refusal(`${dir}/bin`);
    assertEquals([err.reason, err.detail], [
      "not_text",
      "it is not UTF-8 text",
    ]);
    assertEquals(err.message, `Cannot read "${dir}/bin": it is not UTF-8 text`);
  });
});

Deno.test("formatSize() names round sizes in KiB and MiB", () => {
  assertEquals(formatSize(1 << 20), "1 MiB");
  assertEquals(formatSize(64 << 10), "64 KiB");
  assertEquals(formatSize(1000), "1000 bytes");
});
