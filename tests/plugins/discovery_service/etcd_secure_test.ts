/**
 * The etcd store against an etcd that serves TLS (a test CA, the server
 * certificate for 127.0.0.1) with password auth enabled: `--etcd-ca`,
 * `--etcd-user` and `--etcd-password-file` work, a wrong password leaves the
 * replica not ready with a reason naming the user, never the password.
 */
import { assert, assertEquals } from "../../_tools/assert.ts";
import { etcdSkipReason, startEtcdCluster } from "../../_tools/etcd_cluster.ts";
import { rawClient } from "./_harness.ts";
import { httpGet, LONG_TTL, startReplica } from "./_etcd_replicas.ts";
import { exclusive } from "./_exclusive.ts";

async function opensslMissing(): Promise<string | undefined> {
  try {
    const ok = (await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
    }).output()).success;
    return ok ? undefined : "openssl failed";
  } catch {
    return "openssl is not installed";
  }
}

const SKIP = (await etcdSkipReason()) ?? (await opensslMissing());
if (SKIP) console.log(`etcd TLS/auth test skipped: ${SKIP}`);

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** A CA and a server certificate for 127.0.0.1 signed by it. */
async function makeCerts(dir: string): Promise<void> {
  const ec = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
  ];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-days",
    "1",
    "-subj",
    "/CN=edgespan test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  ]);
  await openssl(dir, [
    "req",
    ...ec,
    "-subj",
    "/CN=etcd",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "ext.cnf",
    "-out",
    "server.pem",
  ]);
}

Deno.test({
  name:
    "etcd store over TLS with password auth: works with the right password; a wrong one leaves the replica not ready, saying why",
  ignore: SKIP !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => exclusive("discovery-heavy-tests", secureRun),
});

async function secureRun(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgespan-etcd-tls-" });
  try {
    await makeCerts(dir);
    const caPem = await Deno.readTextFile(`${dir}/ca.pem`);
    const etcd = await startEtcdCluster({
      members: 1,
      tls: {
        certFile: `${dir}/server.pem`,
        keyFile: `${dir}/server.key`,
        caPem,
      },
    });
    const http = Deno.createHttpClient({ caCerts: [caPem] });
    try {
      const call = async (path: string, body: unknown) => {
        const res = await fetch(`${etcd.endpoints[0]}${path}`, {
          method: "POST",
          body: JSON.stringify(body),
          client: http,
        });
        assertEquals(res.status, 200, `${path}: ${await res.clone().text()}`);
        await res.body?.cancel();
      };
      await call("/v3/auth/user/add", {
        name: "root",
        password: "s3cret-pw",
      });
      await call("/v3/auth/role/add", { name: "root" });
      await call("/v3/auth/user/grant", { user: "root", role: "root" });
      await call("/v3/auth/enable", {});
      await Deno.writeTextFile(`${dir}/pw`, "s3cret-pw\n");
      await Deno.writeTextFile(`${dir}/bad-pw`, "bad-pw-x9q\n");

      const [good, bad] = await Promise.all([
        startReplica(etcd.endpoints, [
          "--etcd-ca",
          `${dir}/ca.pem`,
          "--etcd-user",
          "root",
          "--etcd-password-file",
          `${dir}/pw`,
        ]),
        startReplica(etcd.endpoints, [
          "--etcd-ca",
          `${dir}/ca.pem`,
          "--etcd-user",
          "root",
          "--etcd-password-file",
          `${dir}/bad-pw`,
        ]),
      ]);
      try {
        assertEquals((await httpGet(good.port, "/readyz")).status, 200);
        await rawClient(good.port).affiliateUpdate({
          clusterId: "c",
          affiliateId: "a",
          affiliateData: new Uint8Array([1]),
          ttl: LONG_TTL,
        });
        const list = await rawClient(good.port).list({ clusterId: "c" });
        assertEquals(list.affiliates.map((a) => a.id), ["a"]);

        const ready = await httpGet(bad.port, "/readyz");
        assertEquals(ready.status, 503);
        assert(ready.text.includes('etcd refused user "root"'), ready.text);
        assert(!ready.text.includes("x9q") && !bad.log().includes("x9q"));
      } finally {
        await good.kill();
        await bad.kill();
      }
    } finally {
      http.close();
      await etcd.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
