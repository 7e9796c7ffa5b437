import {
  ExistsError,
  NetlinkError,
  netlinkError,
  NotFoundError,
  PermissionError,
} from "../../../ffi/netlink/errors.ts";
import { assert, assertEquals } from "../../_tools/assert.ts";

Deno.test("netlinkError picks the subclass from the errno", () => {
  assert(netlinkError({ operation: "x", errno: 2 }) instanceof NotFoundError);
  assert(netlinkError({ operation: "x", errno: 19 }) instanceof NotFoundError);
  assert(netlinkError({ operation: "x", errno: 17 }) instanceof ExistsError);
  assert(netlinkError({ operation: "x", errno: 1 }) instanceof PermissionError);
  const other = netlinkError({ operation: "x", errno: 22 });
  assert(other instanceof NetlinkError && !(other instanceof NotFoundError));
});

Deno.test("NetlinkError message names the operation, errno and kernel text", () => {
  const e = netlinkError({
    operation: 'add address 10.0.0.1/24 to "va"',
    errno: 17,
    extAckMessage: "ipv4: Address already assigned",
    extAckOffset: 24,
  });
  assertEquals(
    e.message,
    'Cannot add address 10.0.0.1/24 to "va": EEXIST (File exists): ipv4: Address already assigned',
  );
  assertEquals([e.errnoName, e.extAckOffset, e.name], [
    "EEXIST",
    24,
    "ExistsError",
  ]);
});
